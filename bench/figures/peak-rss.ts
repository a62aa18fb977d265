import type { BenchEnvironment, Role } from '../lib/environment';
import { measured, notMeasured, type Figure } from '../report/results';
import { FIGURES } from './meta';

const ROLES: Role[] = ['api', 'relay', 'consumer', 'simulator'];

/** Figure 7: the peak RSS of each service process over the whole run, one row per process. */
export function peakRss(env: BenchEnvironment): Figure[] {
  return ROLES.map((role) => {
    const peak = env.memory.peaks.get(role);
    if (peak === undefined) return notMeasured({ ...FIGURES.peakRss, subject: role }, 'the process did not run');
    return measured({ ...FIGURES.peakRss, subject: role, details: { bytes: peak, largestHeapBeforeStop: env.heaps.get(role) ?? null } }, [
      { value: peak / 1024 ** 2 },
    ]);
  });
}

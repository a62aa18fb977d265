import { expect } from 'chai';
import { createChangeFeed } from '../lib/change-feed';

/** A table whose rows become visible in the order they are committed, not in id order. */
function table() {
  const committed: Array<{ id: string }> = [];
  return {
    commit: (...ids: number[]) => committed.push(...ids.map((id) => ({ id: String(id) }))),
    look: async (floor: string) => committed.filter((row) => BigInt(row.id) > BigInt(floor)).sort((a, b) => Number(a.id) - Number(b.id)),
  };
}

const ids = (rows: Array<{ id: string }>) => rows.map((row) => Number(row.id));

describe('createChangeFeed', () => {
  it('returns each row once, in id order', async () => {
    const t = table();
    const feed = createChangeFeed(t.look);
    t.commit(1, 2, 3);
    expect(ids(await feed.next())).to.deep.equal([1, 2, 3]);
    expect(await feed.next()).to.deep.equal([]);
    t.commit(4);
    expect(ids(await feed.next())).to.deep.equal([4]);
  });

  it('finds a row that commits after a row with a higher id was already seen', async () => {
    const t = table();
    const feed = createChangeFeed(t.look);
    t.commit(1, 3);
    expect(ids(await feed.next())).to.deep.equal([1, 3]);
    t.commit(2);
    expect(ids(await feed.next())).to.deep.equal([2]);
    t.commit(4);
    expect(ids(await feed.next())).to.deep.equal([4]);
  });

  it('goes on past a gap that stays open (a rolled-back insert), and still returns later rows once', async () => {
    const t = table();
    const floors: string[] = [];
    let now = 0;
    const feed = createChangeFeed(
      async (floor) => {
        floors.push(floor);
        return t.look(floor);
      },
      { gapGiveUpMs: 1_000, now: () => now },
    );
    t.commit(1, 3);
    expect(ids(await feed.next())).to.deep.equal([1, 3]);
    now = 500;
    t.commit(4);
    expect(ids(await feed.next())).to.deep.equal([4]);
    now = 1_600;
    expect(await feed.next()).to.deep.equal([]);
    t.commit(5);
    expect(ids(await feed.next())).to.deep.equal([5]);
    // Below the gap until it was given up, then above every row seen.
    expect(floors).to.deep.equal(['0', '1', '1', '4']);
  });

  it('starts above the given floor', async () => {
    const t = table();
    t.commit(1, 2);
    const feed = createChangeFeed(t.look, { floor: '2' });
    t.commit(3);
    expect(ids(await feed.next())).to.deep.equal([3]);
  });
});

export * from './database';
export * from './processes';
export * from './proxy';
export * from './rabbit';
export * from './wait';
export * from './http';
export * from './redis';
export * from './broker-alarm';

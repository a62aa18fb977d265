export * from './cloudevent';
export * from './dead-letter';
export * from './envelope';
export * from './order-created';
export * from './payment-processed';
export * from './topology';
export * from './text';

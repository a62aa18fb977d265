export * from './cloudevent';
export * from './order-created';
export * from './payment-processed';
export * from './topology';
export * from './text';

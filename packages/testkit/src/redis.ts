export const BASE_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

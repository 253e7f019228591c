export { type LongTimeout, MAX_TIMER_DELAY_MS, setLongTimeout, sleep } from './timers.js';

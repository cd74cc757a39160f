/**
 * The environment variable that carries the fleet's encryption key (base64 of 32 bytes, the same
 * for every instance) from the orchestrator to each app process in fleet mode: argv would show it
 * to `ps`.
 */
export const FLEET_KEY_ENV = 'BENCH_FLEET_KEY';

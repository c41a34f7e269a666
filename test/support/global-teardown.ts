export default function globalTeardown(): void {
  const pid = Number(process.env.SOVENDUS_TEST_REDIS_PID);
  if (pid > 0) process.kill(pid, 'SIGTERM');
}

/** What `sovendus-express --help` prints, and a usage error after its problem. */
export const USAGE = `Usage: sovendus-express doctor [--send-test] [--json] [--dotenv=PATH]
       sovendus-express worker [--dotenv=PATH]
       sovendus-express dead list [--json] [--limit=N] [--dotenv=PATH]
       sovendus-express dead retry ID... | --all [--dotenv=PATH]
       sovendus-express dead drop ID... [--dotenv=PATH]
       sovendus-express stats [--once] [--interval=SECONDS] [--json] [--dotenv=PATH]
       sovendus-express --version

doctor checks the Sovendus settings in the environment (SOVENDUS_PRODUCT_ID, SOVENDUS_API_KEY,
SOVENDUS_API_BASE_URL, REDIS_URL, ...): validates them, prints them with the API key masked,
checks that Redis answers and that the API host resolves.

  --send-test       also send a conversion with the test token 12345-test-123-12345
  --json            print the report as JSON
  --dotenv=PATH     read variables from a .env file first (variables already set win);
                    --dotenv PATH works too. It was --env-file=PATH, which Node 20 reads
                    itself and stops at when the file is missing
  -v, --version     print the version of sovendus-express

doctor exits with 0 when every check passes, 1 when one fails, 2 for a usage error.

worker delivers conversions queued by shops that run with worker: false (BullMQ, REDIS_URL),
until SIGINT or SIGTERM.

dead handles the queue's dead letters (REDIS_URL; the queue's default name and prefix):
  list              what, when, why and how many runs, newest first (--limit=N, default 100);
                    tokens and voucher codes shortened, no secrets
  retry ID...       put dead letters back in the queue, with a fresh retry window: the
                    workers send them through the same claims, so nothing is sent twice;
                    --all retries every one
  drop ID...        delete dead letters for good
dead exits with 0 when done, 1 when an id was not found or the queue cannot be read, 2 for a
usage error.

stats prints the queue's figures, refreshed every --interval seconds (default 5) until
SIGINT or SIGTERM: what was done and what died in the last hour, the backlog, the dead
letters kept, by kind. --once prints them once; --json prints each as one line of JSON.
It exits with 0 once stopped, 1 when the queue cannot be read, 2 for a usage error.
`;

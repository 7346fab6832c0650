/**
 * postie's entry point: argv in, exit code out.
 *
 * @module
 */

import { denoIo, run } from "./lib/cli/run.ts";

Deno.exit(await run(Deno.args, denoIo()));

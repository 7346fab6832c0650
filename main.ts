/**
 * postie's entry point: argv in, exit code out.
 *
 * Installed, postie runs through a launcher (`bin/postie`, or a link to it such as
 * `/usr/sbin/sendmail`) that imports this module: the launcher is then Deno's main module,
 * under the path it was invoked by, and that path's name is the program's name. Run directly
 * (`deno run main.ts`, a compiled binary), the name is the process's `argv[0]`.
 *
 * @module
 */

import { denoIo, run } from "./lib/cli/run.ts";
import { claimTlsRoots } from "./lib/net/roots.ts";

// No TLS connection has been made in this process yet: postie decides Deno's default roots.
claimTlsRoots();
const invokedAs = import.meta.main
  ? undefined
  : decodeURIComponent(new URL(Deno.mainModule).pathname);
Deno.exit(await run(Deno.args, denoIo(invokedAs)));

/**
 * The entry point of the installed `dotenv.js`: dotenv's parser, bundled on its own by
 * scripts/build.ts. dotenv is CommonJS, and a CommonJS module in the main bundle would make
 * every chunk import `node:module` (the bundler's `require` shim), booting Deno's Node
 * compatibility layer on every start; bundled apart, only a `.env` file pays for it.
 *
 * @module
 */

export { parse } from "dotenv";

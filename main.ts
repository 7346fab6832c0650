import process from "node:process";
console.log(process.argv0, Deno.args);

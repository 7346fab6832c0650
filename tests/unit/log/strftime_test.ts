import assert from "node:assert/strict";
import { strftime, zoneOffset } from "../../../lib/log/strftime.ts";

const date = new Date(2026, 10, 3, 9, 5, 7);

Deno.test("strftime() formats msmtp's default log time like glibc", () => {
  assert.equal(strftime("%b %d %H:%M:%S", date), "Nov 03 09:05:07");
});

Deno.test("strftime() supports ISO dates, padding variants and literal percent", () => {
  assert.equal(strftime("%Y-%m-%dT%H:%M:%S", date), "2026-11-03T09:05:07");
  assert.equal(
    strftime("%e|%k|%l|%I%p|%j|%%|%F %T", date),
    " 3| 9| 9|09AM|307|%|2026-11-03 09:05:07",
  );
  assert.equal(strftime("%a %A %B %y %u %w", date), "Tue Tuesday November 26 2 2");
  assert.equal(strftime("%z", date), zoneOffset(date));
});

Deno.test("strftime() copies an unknown conversion and a trailing percent as written", () => {
  assert.equal(strftime("%Q %", date), "%Q %");
});

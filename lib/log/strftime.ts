/**
 * strftime(3) in the C locale, for `logfile_time_format`. Only the conversions glibc
 * documents are supported; an unknown one is copied as written, as glibc does.
 *
 * @module
 */

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

function pad(n: number, width = 2, fill = "0"): string {
  return String(n).padStart(width, fill);
}

/** The local time-zone offset as `+hhmm`/`-hhmm`. */
export function zoneOffset(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

function dayOfYear(date: Date): number {
  const start = new Date(date.getFullYear(), 0, 1);
  const startUtc = Date.UTC(start.getFullYear(), 0, 1);
  const nowUtc = Date.UTC(date.getFullYear(), date.getMonth(), date.getDate());
  return Math.floor((nowUtc - startUtc) / 86400000) + 1;
}

function convert(c: string, d: Date): string | undefined {
  switch (c) {
    case "a":
      return DAYS[d.getDay()].slice(0, 3);
    case "A":
      return DAYS[d.getDay()];
    case "b":
    case "h":
      return MONTHS[d.getMonth()].slice(0, 3);
    case "B":
      return MONTHS[d.getMonth()];
    case "c":
      return `${convert("a", d)} ${convert("b", d)} ${convert("e", d)} ${
        convert("T", d)
      } ${d.getFullYear()}`;
    case "C":
      return pad(Math.floor(d.getFullYear() / 100));
    case "d":
      return pad(d.getDate());
    case "D":
      return `${convert("m", d)}/${convert("d", d)}/${convert("y", d)}`;
    case "e":
      return pad(d.getDate(), 2, " ");
    case "F":
      return `${d.getFullYear()}-${convert("m", d)}-${convert("d", d)}`;
    case "H":
      return pad(d.getHours());
    case "I":
      return pad(d.getHours() % 12 === 0 ? 12 : d.getHours() % 12);
    case "j":
      return pad(dayOfYear(d), 3);
    case "k":
      return pad(d.getHours(), 2, " ");
    case "l":
      return pad(d.getHours() % 12 === 0 ? 12 : d.getHours() % 12, 2, " ");
    case "m":
      return pad(d.getMonth() + 1);
    case "M":
      return pad(d.getMinutes());
    case "n":
      return "\n";
    case "p":
      return d.getHours() < 12 ? "AM" : "PM";
    case "r":
      return `${convert("I", d)}:${convert("M", d)}:${convert("S", d)} ${convert("p", d)}`;
    case "R":
      return `${convert("H", d)}:${convert("M", d)}`;
    case "s":
      return String(Math.floor(d.getTime() / 1000));
    case "S":
      return pad(d.getSeconds());
    case "t":
      return "\t";
    case "T":
      return `${convert("H", d)}:${convert("M", d)}:${convert("S", d)}`;
    case "u":
      return String(d.getDay() === 0 ? 7 : d.getDay());
    case "w":
      return String(d.getDay());
    case "x":
      return convert("D", d);
    case "X":
      return convert("T", d);
    case "y":
      return pad(d.getFullYear() % 100);
    case "Y":
      return String(d.getFullYear());
    case "z":
      return zoneOffset(d);
    case "Z":
      return new Intl.DateTimeFormat("en-US", { timeZoneName: "short" })
        .formatToParts(d).find((p) => p.type === "timeZoneName")?.value ?? "";
    case "%":
      return "%";
    default:
      return undefined;
  }
}

/**
 * Formats a local time with a strftime(3) format, C locale.
 *
 * @example Usage
 * ```ts
 * import { strftime } from "./strftime.ts";
 * const text = strftime("%Y-%m-%dT%H:%M:%S", new Date(2026, 10, 23, 12, 21, 31));
 * console.log(text); // "2026-11-23T12:21:31"
 * ```
 */
export function strftime(format: string, date: Date): string {
  let out = "";
  for (let i = 0; i < format.length; i++) {
    const ch = format[i];
    if (ch !== "%" || i + 1 >= format.length) {
      out += ch;
      continue;
    }
    let c = format[++i];
    // glibc flags/modifiers that do not change C-locale output.
    while ((c === "E" || c === "O") && i + 1 < format.length) c = format[++i];
    out += convert(c, date) ?? `%${c}`;
  }
  return out;
}

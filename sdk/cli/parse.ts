/**
 * Parsers for CLI option values: each checks one value and throws commander's
 * InvalidArgumentError with what was expected, so a bad value is refused before anything runs.
 *
 * @internal
 */
import { InvalidArgumentError } from "commander";

import { MedLedgerError } from "../errors.js";
import { address as checkAddress, durationSeconds } from "../validate.js";

function wrap<T>(fn: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return fn(value);
    } catch (err) {
      if (err instanceof MedLedgerError) throw new InvalidArgumentError(err.shortMessage);
      throw err;
    }
  };
}

/** An http(s) URL. */
export const httpUrl = wrap((value: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("expected a URL such as http://127.0.0.1:8545");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InvalidArgumentError("expected an http(s) URL");
  return value;
});

/** A plain name (letters, digits, - and _). */
export const plainName = (value: string): string => {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value))
    throw new InvalidArgumentError("expected a plain name (letters, digits, - and _)");
  return value;
};

/** One address (0x + 40 hex digits; names are not resolved). */
export const address = (flag: string) => wrap((value: string) => checkAddress(value.trim(), flag));

/** Comma-separated addresses. */
export const addressList = (flag: string) =>
  wrap((value: string): string[] => {
    const parts = value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    if (parts.length === 0) throw new InvalidArgumentError("expected comma-separated addresses");
    return parts.map((p, i) => checkAddress(p, `${flag}[${i}]`));
  });

/** Whole seconds up to `max` (larger values are milliseconds by mistake). */
export const wholeSeconds = (flag: string, max: number) =>
  wrap((value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError("expected whole seconds");
    return durationSeconds(Number(value.trim()), flag, max);
  });

/** One name of a code table (sdk/codes.ts), case-insensitive; the error lists the allowed names. */
export const nameOf =
  <T extends Record<string, number>>(table: T, what: string) =>
  (value: string): keyof T & string => {
    const name = value.trim().toUpperCase();
    if (!Object.prototype.hasOwnProperty.call(table, name))
      throw new InvalidArgumentError(`unknown ${what} ${value} (one of ${Object.keys(table).join(", ")})`);
    return name;
  };

/** Comma-separated names of a code table (sdk/codes.ts). */
export const namesOf =
  <T extends Record<string, number>>(table: T, what: string) =>
  (value: string): (keyof T & string)[] => {
    const parts = value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    if (parts.length === 0) throw new InvalidArgumentError(`expected comma-separated ${what} names`);
    return parts.map(nameOf(table, what));
  };

/** 0x + 64 hex digits (a subject, record or consent id, a salt). */
export const bytes32 = (value: string): string => {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value.trim()))
    throw new InvalidArgumentError("expected 0x followed by 64 hex digits");
  return value.trim().toLowerCase();
};

/** A whole number ≥ 1 (an organization id, a count). */
export const positive = (value: string): number => {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1)
    throw new InvalidArgumentError("expected a positive whole number");
  return Number(value);
};

/** A date (2027-01-01, an ISO time) or unix seconds; the value is unix seconds. */
export const date = (value: string): number => {
  const v = value.trim();
  const t = /^\d+$/.test(v) ? Number(v) : Math.floor(Date.parse(v) / 1000);
  if (!Number.isSafeInteger(t) || t <= 0)
    throw new InvalidArgumentError("expected a date (2027-01-01) or unix seconds");
  return t;
};

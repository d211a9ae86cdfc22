/** Reads a required environment variable once; the message names it (STYLE.md: never `process.env.X!`). */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`Environment variable ${name} is required`);
  }
  return value;
}

export function optionalEnv(name: string, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value === "" ? fallback : value;
}

/** A number above 0 from the environment, the fallback when unset; anything else is refused by name. */
export function positiveNumberEnv(name: string, fallback: number): number {
  const text = optionalEnv(name, "");
  if (text.trim() === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, not "${text}"`);
  return value;
}

/** A whole number of at least 0 from the environment, the fallback when unset; anything else is refused by name. */
export function nonNegativeIntegerEnv(name: string, fallback: number): number {
  const text = optionalEnv(name, "");
  if (text.trim() === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} must be a whole number of 0 or more, not "${text}"`);
  }
  return value;
}

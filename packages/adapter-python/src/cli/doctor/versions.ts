/** Version numbers as Python packages report them ("1.62.0", "5.29.0rc1"), compared numerically. */

export type Version = readonly number[];

/** The leading numeric parts of a version string, or undefined when it has none. */
export function parseVersion(text: string): Version | undefined {
  const match = /^\s*v?(\d+(?:\.\d+)*)/.exec(text);
  return match === null ? undefined : match[1]!.split('.').map(Number);
}

export function compareVersions(a: Version, b: Version): number {
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

export function formatVersion(version: Version): string {
  return version.join('.');
}

/** `minimum <= version < below` (either bound optional). */
export function inRange(version: Version, minimum?: Version, below?: Version): boolean {
  if (minimum !== undefined && compareVersions(version, minimum) < 0) return false;
  if (below !== undefined && compareVersions(version, below) >= 0) return false;
  return true;
}

/** "1.51 or newer", "4.21 up to 7.x". */
export function describeRange(minimum: Version, below?: Version): string {
  if (below === undefined) return `${formatVersion(minimum)} or newer`;
  const last = [...below];
  last[last.length - 1] = last[last.length - 1]! - 1;
  return `${formatVersion(minimum)} up to ${formatVersion(last)}.x`;
}

/** The package version, reported by `--version`, `GET /version` and the head. A test keeps it equal to package.json. */
export const PACKAGE_VERSION = '0.1.0';

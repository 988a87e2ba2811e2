#!/bin/sh
# pkcs11_tool_g.sh for profile O (Series 8): adds SHA-2, PSS and ECDSA.
PKCS11_PROFILE=O exec sh "$(dirname "$0")/pkcs11_tool_g.sh" "$@"

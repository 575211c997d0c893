#include "sekisho/err.h"

const char *
sk_err_str(int err)
{
	switch (err) {
	case SK_OK:
		return "success";
	case SK_ERR_NOMEM:
		return "out of memory";
	case SK_ERR_INVALID:
		return "invalid input";
	case SK_ERR_NOT_FOUND:
		return "not found";
	case SK_ERR_STORE:
		return "session store unavailable";
	case SK_ERR_UPSTREAM:
		return "identity provider unavailable or refused";
	case SK_ERR_TOKEN:
		return "token verification failed";
	case SK_ERR_DENIED:
		return "denied by policy";
	case SK_ERR_CONFIG:
		return "configuration error";
	case SK_ERR_IO:
		return "I/O error";
	case SK_ERR_TOO_LARGE:
		return "input too large";
	case SK_ERR_EXPIRED:
		return "expired";
	case SK_ERR_LOST:
		return "stored data lost";
	case SK_ERR_BUSY:
		return "busy";
	case SK_ERR_LIMITED:
		return "limit reached";
	case SK_ERR_TIMEOUT:
		return "timed out";
	case SK_ERR_INTERNAL:
	default:
		return "internal error";
	}
}

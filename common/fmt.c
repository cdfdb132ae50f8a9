/*
 * The printf family (see common/fmt.h for the conversions it accepts).
 *
 * fmt_vformat walks the format once. Literal text goes out as one chunk per
 * run; each directive is parsed into a struct spec and turned into at most five
 * chunks: left padding, sign/prefix, zeros, the digits or text, right padding.
 * Padding comes from a constant block of spaces or zeros, so nothing is
 * formatted twice and the only buffer is one number's digits on the stack.
 *
 * The error table for %e, err_name and err_message is expanded from
 * EXO_ERRORS in inc/error.h, so a new error code needs no edit here.
 */
#include <inc/error.h>
#include <common/fmt.h>
#include <common/string.h>

#define INT_LIMIT ((int)(~0U >> 1))

enum length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J };

/* One parsed directive. prec is -1 when none was given. */
struct spec {
	bool left, zero, plus, space, alt;
	int width;
	int prec;
	enum length len;
	char conv;
};

struct out {
	fmt_put_fn *put;
	void *arg;
	size_t count;
};

static void emit(struct out *o, const char *s, size_t n)
{
	if (n > 0) {
		o->put(o->arg, s, n);
		o->count += n;
	}
}

#define PAD_CHUNK 32 /* any size works; this covers most widths in one call */
static const char spaces[] = "                                ";
static const char zeros[] = "00000000000000000000000000000000";
_Static_assert(sizeof(spaces) == PAD_CHUNK + 1 && sizeof(zeros) == PAD_CHUNK + 1,
	       "padding blocks must be PAD_CHUNK characters");

static void pad(struct out *o, const char *block, size_t n)
{
	while (n > 0) {
		size_t k = MIN(n, (size_t)PAD_CHUNK);
		emit(o, block, k);
		n -= k;
	}
}

/* Reads a width or precision: digits (saturating) or '*' from the arguments. */
static const char *parse_count(const char *f, int *count, va_list *ap)
{
	if (*f == '*') {
		*count = va_arg(*ap, int);
		return f + 1;
	}
	int n = 0;
	for (; isdigit(*f); f++) {
		int d = *f - '0';
		n = n > (INT_LIMIT - d) / 10 ? INT_LIMIT : n * 10 + d;
	}
	*count = n;
	return f;
}

/* Parses the directive after its '%'; returns where the format continues. */
static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){ .prec = -1 };
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else if (*f == '+')
			sp->plus = true;
		else if (*f == ' ')
			sp->space = true;
		else if (*f == '#')
			sp->alt = true;
		else
			break;
	}

	f = parse_count(f, &sp->width, ap);
	if (sp->width < 0) { /* a negative '*' width means '-' */
		sp->left = true;
		sp->width = sp->width == -INT_LIMIT - 1 ? INT_LIMIT : -sp->width;
	}
	if (*f == '.') {
		f = parse_count(f + 1, &sp->prec, ap);
		if (sp->prec < 0) /* a negative '*' precision means none */
			sp->prec = -1;
	}

	switch (*f) {
	case 'h':
		sp->len = f[1] == 'h' ? LEN_HH : LEN_H;
		f += sp->len == LEN_HH ? 2 : 1;
		break;
	case 'l':
		sp->len = f[1] == 'l' ? LEN_LL : LEN_L;
		f += sp->len == LEN_LL ? 2 : 1;
		break;
	case 'z':
		sp->len = LEN_Z;
		f++;
		break;
	case 't':
		sp->len = LEN_T;
		f++;
		break;
	case 'j':
		sp->len = LEN_J;
		f++;
		break;
	}

	sp->conv = *f;
	return *f ? f + 1 : f; /* never step past the terminator */
}

/* Arguments narrower than int arrive promoted; hh and h cut them back. */
static intmax_t fetch_signed(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_HH: return (signed char)va_arg(*ap, int);
	case LEN_H: return (short)va_arg(*ap, int);
	case LEN_L: return va_arg(*ap, long);
	case LEN_LL: return va_arg(*ap, long long);
	case LEN_Z: return (ptrdiff_t)va_arg(*ap, size_t);
	case LEN_T: return va_arg(*ap, ptrdiff_t);
	case LEN_J: return va_arg(*ap, intmax_t);
	default: return va_arg(*ap, int);
	}
}

static uintmax_t fetch_unsigned(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_HH: return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_H: return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_L: return va_arg(*ap, unsigned long);
	case LEN_LL: return va_arg(*ap, unsigned long long);
	case LEN_Z: return va_arg(*ap, size_t);
	case LEN_T: return (size_t)va_arg(*ap, ptrdiff_t);
	case LEN_J: return va_arg(*ap, uintmax_t);
	default: return va_arg(*ap, unsigned int);
	}
}

/* Room for a 64-bit value in octal, the longest base we print. */
#define DIGITS_MAX 22

/* Writes v's digits so that they end just before `end`; returns how many.
 * Each base has its own loop so the divisions are by constants. */
static size_t to_digits(char *end, uintmax_t v, int base, bool upper)
{
	const char *digit = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;
	switch (base) {
	case 16:
		do {
			*--p = digit[v & 15];
			v >>= 4;
		} while (v);
		break;
	case 8:
		do {
			*--p = digit[v & 7];
			v >>= 3;
		} while (v);
		break;
	default:
		do {
			*--p = digit[v % 10];
			v /= 10;
		} while (v);
		break;
	}
	return (size_t)(end - p);
}

static int conv_base(char conv)
{
	switch (conv) {
	case 'o': return 8;
	case 'x':
	case 'X':
	case 'p': return 16;
	default: return 10;
	}
}

/* %d %i %u %o %x %X %p: v is the magnitude, neg its sign. */
static void put_number(struct out *o, const struct spec *sp, uintmax_t v, bool neg)
{
	int base = conv_base(sp->conv);
	char buf[DIGITS_MAX];
	size_t ndigits = 0;
	if (v != 0 || sp->prec != 0) /* C: zero with precision 0 has no digits */
		ndigits = to_digits(buf + sizeof(buf), v, base, sp->conv == 'X');
	const char *digits = buf + sizeof(buf) - ndigits;

	char prefix[3];
	size_t nprefix = 0;
	if (neg)
		prefix[nprefix++] = '-';
	else if (sp->plus)
		prefix[nprefix++] = '+';
	else if (sp->space)
		prefix[nprefix++] = ' ';
	if (sp->conv == 'p' || (sp->alt && base == 16 && v != 0)) {
		prefix[nprefix++] = '0';
		prefix[nprefix++] = sp->conv == 'X' ? 'X' : 'x';
	}

	size_t nzeros = sp->prec > 0 && (size_t)sp->prec > ndigits ? (size_t)sp->prec - ndigits : 0;
	/* '#' octal: the first digit printed must be a 0. */
	if (sp->alt && base == 8 && nzeros == 0 && (ndigits == 0 || digits[0] != '0'))
		nzeros = 1;

	size_t len = nprefix + nzeros + ndigits, width = (size_t)sp->width;
	if (sp->zero && !sp->left && sp->prec < 0 && width > len) {
		nzeros += width - len;
		len = width;
	}
	size_t fill = width > len ? width - len : 0;

	if (!sp->left)
		pad(o, spaces, fill);
	emit(o, prefix, nprefix);
	pad(o, zeros, nzeros);
	emit(o, digits, ndigits);
	if (sp->left)
		pad(o, spaces, fill);
}

/* %s %c %e: text padded to the width ('0' is ignored, as in glibc). */
static void put_text(struct out *o, const struct spec *sp, const char *s, size_t n)
{
	size_t width = (size_t)sp->width, fill = width > n ? width - n : 0;
	if (!sp->left)
		pad(o, spaces, fill);
	emit(o, s, n);
	if (sp->left)
		pad(o, spaces, fill);
}

/* Length of s under the directive's precision, without reading past it. */
static size_t text_len(const struct spec *sp, const char *s)
{
	return sp->prec >= 0 ? strnlen(s, (size_t)sp->prec) : strlen(s);
}

static void put_error(struct out *o, const struct spec *sp, intmax_t e)
{
	const char *msg = err_message((long)e);
	if (msg) {
		put_text(o, sp, msg, text_len(sp, msg));
		return;
	}
	static const char unknown[] = "error ";
	char buf[sizeof(unknown) - 1 + 1 + DIGITS_MAX];
	memcpy(buf, unknown, sizeof(unknown) - 1);
	size_t n = sizeof(unknown) - 1;
	if (e < 0)
		buf[n++] = '-';
	char digits[DIGITS_MAX];
	size_t nd = to_digits(digits + sizeof(digits), e < 0 ? 0 - (uintmax_t)e : (uintmax_t)e, 10,
			      false);
	memcpy(buf + n, digits + sizeof(digits) - nd, nd);
	n += nd;
	if (sp->prec >= 0 && (size_t)sp->prec < n)
		n = (size_t)sp->prec;
	put_text(o, sp, buf, n);
}

/* Performs one directive; false if it is not one we support. */
static bool convert(struct out *o, struct spec *sp, va_list *ap)
{
	switch (sp->conv) {
	case 'd':
	case 'i': {
		intmax_t v = fetch_signed(ap, sp->len);
		put_number(o, sp, v < 0 ? 0 - (uintmax_t)v : (uintmax_t)v, v < 0);
		return true;
	}
	case 'u':
	case 'o':
	case 'x':
	case 'X':
		sp->plus = sp->space = false; /* signs are for signed conversions */
		put_number(o, sp, fetch_unsigned(ap, sp->len), false);
		return true;
	case 'p':
		if (sp->len != LEN_NONE)
			return false;
		sp->plus = sp->space = false;
		put_number(o, sp, (uintptr_t)va_arg(*ap, void *), false);
		return true;
	case 'c': {
		if (sp->len != LEN_NONE) /* no wide characters */
			return false;
		char c = (char)va_arg(*ap, int);
		put_text(o, sp, &c, 1);
		return true;
	}
	case 's': {
		if (sp->len != LEN_NONE)
			return false;
		const char *s = va_arg(*ap, const char *);
		if (!s)
			s = "(null)";
		put_text(o, sp, s, text_len(sp, s));
		return true;
	}
	case 'e': put_error(o, sp, fetch_signed(ap, sp->len)); return true;
	case '%': emit(o, "%", 1); return true;
	default: return false;
	}
}

int fmt_vformat(fmt_put_fn *put, void *arg, const char *fmt, va_list ap)
{
	struct out o = { .put = put, .arg = arg, .count = 0 };
	va_list args; /* a copy, so helpers can take its address */
	va_copy(args, ap);
	while (*fmt) {
		const char *text = fmt;
		while (*fmt && *fmt != '%')
			fmt++;
		emit(&o, text, (size_t)(fmt - text));
		if (!*fmt)
			break;

		const char *directive = fmt;
		struct spec sp;
		fmt = parse_spec(fmt + 1, &sp, &args);
		if (!convert(&o, &sp, &args))
			emit(&o, directive, (size_t)(fmt - directive));
	}
	va_end(args);
	return o.count > (size_t)INT_LIMIT ? INT_LIMIT : (int)o.count;
}

int fmt_format(fmt_put_fn *put, void *arg, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vformat(put, arg, fmt, ap);
	va_end(ap);
	return n;
}

/* snprintf's destination: len counts the bytes stored, never the NUL. */
struct strbuf {
	char *buf;
	size_t size;
	size_t len;
};

static void put_strbuf(void *arg, const char *s, size_t n)
{
	struct strbuf *b = arg;
	if (b->len + 1 < b->size) {
		size_t k = MIN(n, b->size - 1 - b->len);
		memcpy(b->buf + b->len, s, k);
		b->len += k;
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct strbuf b = { .buf = buf, .size = size, .len = 0 };
	int n = fmt_vformat(put_strbuf, &b, fmt, ap);
	if (size > 0)
		buf[b.len] = '\0';
	return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* Codes are looked up by magnitude; computed in unsigned so LONG_MIN is safe. */
static unsigned long err_code(long e)
{
	return e < 0 ? 0 - (unsigned long)e : (unsigned long)e;
}

const char *err_name(long e)
{
	switch (err_code(e)) {
#define ERR_NAME_CASE(name, num, msg) \
	case num:                     \
		return #name;
		EXO_ERRORS(ERR_NAME_CASE)
#undef ERR_NAME_CASE
	default: return NULL;
	}
}

const char *err_message(long e)
{
	switch (err_code(e)) {
#define ERR_MESSAGE_CASE(name, num, msg) \
	case num:                        \
		return msg;
		EXO_ERRORS(ERR_MESSAGE_CASE)
#undef ERR_MESSAGE_CASE
	default: return NULL;
	}
}

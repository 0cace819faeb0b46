/*
 * aigclabel.speedups: optional C versions of the hot per-character loops of the canonical form
 * (aigclabel.canonical), the packet inserter's scans (aigclabel.marks.placement), the mark
 * channels' codecs and CRC (aigclabel.marks.alphabet, aigclabel.marks.crc) and the language guess
 * (aigclabel.explicit.LanguageGuess).
 *
 * Each function equals its documented pure-Python counterpart character for character (the tests
 * compare them on generated text of every Unicode category); the package works without this
 * module, which is built only where a compiler is available.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* str.isalnum() of the Basic Multilingual Plane, one bit a character, filled a 256-character page
 * at a time on first use (the Unicode database lookup costs several times a bit test, and prose
 * uses a few pages). Pages are only ever filled while the GIL is held. */
static uint64_t alnum_bits[256][4];
static uint64_t decimal_bits[256][4]; /* str.isdecimal(), the regex \d */
static unsigned char alnum_page_ready[256];

static void
fill_alnum_page(unsigned int page)
{
    for (unsigned int k = 0; k < 256; k++) {
        Py_UCS4 c = (Py_UCS4)(page << 8 | k);
        if (Py_UNICODE_ISALNUM(c)) {
            alnum_bits[page][k >> 6] |= (uint64_t)1 << (k & 63);
        }
        if (Py_UNICODE_ISDECIMAL(c)) {
            decimal_bits[page][k >> 6] |= (uint64_t)1 << (k & 63);
        }
    }
    alnum_page_ready[page] = 1;
}

/* str.isdecimal() of one character (Unicode category Nd: the regex \d). */
static inline int
is_decimal(Py_UCS4 c)
{
    if (c < 128) {
        return c >= '0' && c <= '9';
    }
    if (c < 0x10000) {
        unsigned int page = c >> 8, k = c & 0xFF;
        if (!alnum_page_ready[page]) {
            fill_alnum_page(page);
        }
        return (int)((decimal_bits[page][k >> 6] >> (k & 63)) & 1);
    }
    return Py_UNICODE_ISDECIMAL(c);
}

/* str.isalnum() of one character: Unicode categories L and N (the same test as the regex \w
 * without "_"). */
static inline int
is_alnum(Py_UCS4 c)
{
    if (c < 128) {
        return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    }
    if (c < 0x10000) {
        unsigned int page = c >> 8, k = c & 0xFF;
        if (!alnum_page_ready[page]) {
            fill_alnum_page(page);
        }
        return (int)((alnum_bits[page][k >> 6] >> (k & 63)) & 1);
    }
    return Py_UNICODE_ISALNUM(c);
}

#define FILTER_LOOP(TYPE)                                 \
    do {                                                  \
        const TYPE *src = (const TYPE *)data;             \
        TYPE *dst = (TYPE *)out;                          \
        for (Py_ssize_t i = 0; i < n; i++) {              \
            TYPE c = src[i];                              \
            if (is_alnum(c)) {                            \
                dst[kept++] = c;                          \
            }                                             \
        }                                                 \
    } while (0)

PyDoc_STRVAR(alnum_only_doc,
             "alnum_only(text, /)\n--\n\n"
             "*text* with every character that is not a letter or digit (str.isalnum) removed.");

static PyObject *
alnum_only(PyObject *module, PyObject *text)
{
    (void)module;
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "alnum_only() takes str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    void *out = PyMem_Malloc(n > 0 ? (size_t)n * (size_t)kind : 1);
    if (out == NULL) {
        return PyErr_NoMemory();
    }
    Py_ssize_t kept = 0;
    switch (kind) {
    case PyUnicode_1BYTE_KIND:
        FILTER_LOOP(Py_UCS1);
        break;
    case PyUnicode_2BYTE_KIND:
        FILTER_LOOP(Py_UCS2);
        break;
    default:
        FILTER_LOOP(Py_UCS4);
        break;
    }
    PyObject *result;
    if (kept == n && PyUnicode_CheckExact(text)) {
        Py_INCREF(text);
        result = text;
    }
    else {
        /* narrows to the smallest kind that holds the kept characters */
        result = PyUnicode_FromKindAndData(kind, out, kept);
    }
    PyMem_Free(out);
    return result;
}

/* A set of up to MAX_SET characters: a bit mask for ASCII, a list for the rest (a small set: the
 * canonical form's markers, digits and operators). */
#define MAX_SET 64

typedef struct {
    uint64_t ascii[2];
    Py_UCS4 other[MAX_SET];
    Py_ssize_t n_other;
    Py_UCS4 lo, hi;   /* bounds of the non-ASCII members: most characters fail one comparison */
    uint64_t pages[4]; /* bits 8-15 of the non-ASCII members: other scripts fail here */
    uint64_t bloom[4]; /* the low bytes of the non-ASCII members */
} charset;

static int
charset_init(charset *set, PyObject *chars)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(chars);
    memset(set, 0, sizeof(*set));
    set->lo = 0x10FFFF;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(chars, i);
        if (c < 128) {
            set->ascii[c >> 6] |= (uint64_t)1 << (c & 63);
            continue;
        }
        if (set->n_other == MAX_SET) {
            PyErr_SetString(PyExc_ValueError, "find_any() takes at most 64 non-ASCII characters");
            return -1;
        }
        set->other[set->n_other++] = c;
        set->pages[((c >> 8) & 0xFF) >> 6] |= (uint64_t)1 << ((c >> 8) & 63);
        set->bloom[(c & 0xFF) >> 6] |= (uint64_t)1 << (c & 63);
        if (c < set->lo) {
            set->lo = c;
        }
        if (c > set->hi) {
            set->hi = c;
        }
    }
    return 0;
}

static inline int
charset_has(const charset *set, Py_UCS4 c)
{
    if (c < 128) {
        return (int)((set->ascii[c >> 6] >> (c & 63)) & 1);
    }
    if (c < set->lo || c > set->hi || !((set->pages[((c >> 8) & 0xFF) >> 6] >> ((c >> 8) & 63)) & 1) ||
        !((set->bloom[(c & 0xFF) >> 6] >> (c & 63)) & 1)) {
        return 0;
    }
    for (Py_ssize_t k = 0; k < set->n_other; k++) {
        if (set->other[k] == c) {
            return 1;
        }
    }
    return 0;
}

#define FIND_LOOP(TYPE)                                   \
    do {                                                  \
        const TYPE *src = (const TYPE *)data;             \
        for (Py_ssize_t i = start; i < n; i++) {          \
            if (charset_has(&set, src[i])) {              \
                return PyLong_FromSsize_t(i);             \
            }                                             \
        }                                                 \
    } while (0)

PyDoc_STRVAR(find_any_doc,
             "find_any(text, chars, start=0, /)\n--\n\n"
             "The lowest index >= *start* of a character of *chars* in *text*; -1 if there is none.\n"
             "*chars* holds at most 64 non-ASCII characters.");

static PyObject *
find_any(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs < 2 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "find_any() takes 2 or 3 arguments");
        return NULL;
    }
    PyObject *text = args[0], *chars = args[1];
    if (!PyUnicode_Check(text) || !PyUnicode_Check(chars)) {
        PyErr_SetString(PyExc_TypeError, "find_any() takes str text and chars");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_ssize_t start = 0;
    if (nargs == 3) {
        start = PyLong_AsSsize_t(args[2]);
        if (start == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (start < 0) {
            PyErr_SetString(PyExc_ValueError, "find_any() start must not be negative");
            return NULL;
        }
    }
    charset set;
    if (charset_init(&set, chars) < 0) {
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    switch (kind) {
    case PyUnicode_1BYTE_KIND:
        FIND_LOOP(Py_UCS1);
        break;
    case PyUnicode_2BYTE_KIND:
        FIND_LOOP(Py_UCS2);
        break;
    default:
        FIND_LOOP(Py_UCS4);
        break;
    }
    return PyLong_FromLong(-1);
}

/* The blocks whose characters that are not letters or digits decompose (NFKD) to no letter or digit
 * either: Latin-1 punctuation, General Punctuation, box drawing and geometric shapes, CJK Symbols
 * and Punctuation, the Private Use Area but U+E001 and U+E002 (the canonical form's super- and
 * subscript markers), half-width CJK punctuation. The tests check every such character against
 * unicodedata. */
static inline int
in_punctuation_block(Py_UCS4 c)
{
    return (c >= 0xA0 && c <= 0xBF) || (c >= 0x2000 && c <= 0x206F) || (c >= 0x2500 && c <= 0x25FF) ||
           (c >= 0x3000 && c <= 0x303F) || c == 0xE000 || (c >= 0xE003 && c <= 0xF8FF) ||
           (c >= 0xFF5F && c <= 0xFF65);
}

/* Letters and digits that NFKD leaves alone: ASCII, the Greek letters without accents and the CJK
 * Unified Ideographs (with Extension A), none of which has a decomposition. */
static inline int
nfkd_inert_alnum(Py_UCS4 c)
{
    return c < 128 || (c >= 0x391 && c <= 0x3A9) || (c >= 0x3B1 && c <= 0x3C9) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x4E00 && c <= 0x9FFF);
}

/* One character of prefold(): 0 to drop it, else the character to keep (never 0: NUL is not
 * alphanumeric and is dropped). *final is cleared when a kept character may change under NFKD,
 * is not a letter or digit, or is an ASCII digit (a number), full-width or not. */
static inline Py_UCS4
prefold_char(Py_UCS4 c, int *final)
{
    if (c >= 0x4E00 && c <= 0x9FFF) { /* most of Chinese prose */
        if (!is_alnum(c)) {
            *final = 0;
        }
        return c;
    }
    if (c < 128) {
        if (c >= '0' && c <= '9') {
            *final = 0; /* a number */
        }
        return is_alnum(c) ? c : 0;
    }
    if (c >= 0xFF01 && c <= 0xFF5E) { /* full-width ASCII: NFKD is the ASCII character */
        Py_UCS4 a = c - 0xFEE0;
        if (a >= '0' && a <= '9') {
            *final = 0;
        }
        return is_alnum(a) ? a : 0;
    }
    if (is_alnum(c)) {
        if (!nfkd_inert_alnum(c)) {
            *final = 0;
        }
        return c;
    }
    if (in_punctuation_block(c)) {
        return 0;
    }
    *final = 0;
    return c;
}

#define PREFOLD_LOOP(TYPE)                                \
    do {                                                  \
        const TYPE *src = (const TYPE *)data;             \
        TYPE *dst = (TYPE *)out;                          \
        for (Py_ssize_t i = 0; i < n; i++) {              \
            Py_UCS4 u = src[i];                           \
            if (u >= 0x4E00 && u <= 0x9FFF && !watch_cjk) { \
                if (!is_alnum(u)) {                       \
                    fin = 0;                              \
                }                                         \
                dst[kept++] = (TYPE)u;                    \
                continue;                                 \
            }                                             \
            if (charset_has(&scan, src[i])) {             \
                mark_seen(&watch, src[i], seen, other_seen); \
            }                                             \
            Py_UCS4 c = prefold_char(src[i], &fin);       \
            if (c != 0) {                                 \
                dst[kept++] = (TYPE)c;                    \
            }                                             \
        }                                                 \
    } while (0)

static void
mark_seen(const charset *set, Py_UCS4 c, uint64_t seen[2], unsigned char other_seen[MAX_SET])
{
    if (c < 128) {
        seen[c >> 6] |= (uint64_t)1 << (c & 63);
        return;
    }
    for (Py_ssize_t k = 0; k < set->n_other; k++) {
        if (set->other[k] == c) {
            other_seen[k] = 1;
        }
    }
}

PyDoc_STRVAR(prefold_doc,
             "prefold(text, watch, /)\n--\n\n"
             "(folded, final, seen): *text* with full-width ASCII (U+FF01-U+FF5E) folded to ASCII as\n"
             "NFKD folds it, then without the characters that are not letters or digits (str.isalnum)\n"
             "of ASCII, Latin-1 punctuation (U+00A0-U+00BF), General Punctuation (U+2000-U+206F), box\n"
             "drawing and geometric shapes (U+2500-U+25FF), CJK Symbols and Punctuation\n"
             "(U+3000-U+303F), the Private Use Area (U+E000-U+F8FF) but U+E001 and U+E002, and\n"
             "half-width CJK punctuation (U+FF5F-U+FF65): none of them has a letter or digit in its\n"
             "NFKD. *final*: every character of *folded* is an ASCII letter, a Greek letter without\n"
             "accent (U+0391-U+03A9, U+03B1-U+03C9) or a CJK Unified Ideograph (U+3400-U+4DBF,\n"
             "U+4E00-U+9FFF) that is a letter (NFKD leaves them alone).\n"
             "*seen*: the characters of *watch* (at most 64 of them non-ASCII) that occur in *text*,\n"
             "in the order of *watch*.");

static PyObject *
prefold(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "prefold() takes str text and str watch");
        return NULL;
    }
    PyObject *text = args[0], *watch_obj = args[1];
    charset watch;
    if (charset_init(&watch, watch_obj) < 0) {
        return NULL;
    }
    /* a copy whose address never escapes, so that the loop keeps its fields in registers */
    const charset scan = watch;
    /* the ideographs of Chinese prose take a short path unless watch holds some */
    const int watch_cjk = watch.n_other > 0 && watch.lo <= 0x9FFF && watch.hi >= 0x4E00;
    uint64_t seen[2] = {0, 0};
    unsigned char other_seen[MAX_SET] = {0};
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    void *out = PyMem_Malloc(n > 0 ? (size_t)n * (size_t)kind : 1);
    if (out == NULL) {
        return PyErr_NoMemory();
    }
    Py_ssize_t kept = 0;
    int fin = 1; /* a local the compiler keeps in a register */
    switch (kind) {
    case PyUnicode_1BYTE_KIND:
        PREFOLD_LOOP(Py_UCS1);
        break;
    case PyUnicode_2BYTE_KIND:
        PREFOLD_LOOP(Py_UCS2);
        break;
    default:
        PREFOLD_LOOP(Py_UCS4);
        break;
    }
    /* narrows to the smallest kind that holds the kept characters */
    PyObject *folded = PyUnicode_FromKindAndData(kind, out, kept);
    PyMem_Free(out);
    if (folded == NULL) {
        return NULL;
    }
    /* the characters of watch seen, in its order: an ASCII one once, a non-ASCII one as often as
     * watch repeats it (at most 64 such occurrences) */
    Py_ssize_t wn = PyUnicode_GET_LENGTH(watch_obj), k_other = 0;
    Py_UCS4 picked[MAX_SET + 128];
    Py_ssize_t n_picked = 0;
    for (Py_ssize_t j = 0; j < wn; j++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(watch_obj, j);
        int hit;
        if (c < 128) {
            hit = (int)((seen[c >> 6] >> (c & 63)) & 1);
            seen[c >> 6] &= ~((uint64_t)1 << (c & 63)); /* each ASCII character once */
        }
        else {
            hit = other_seen[k_other++];
        }
        if (hit) {
            picked[n_picked++] = c;
        }
    }
    PyObject *seen_str = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, picked, n_picked);
    if (seen_str == NULL) {
        Py_DECREF(folded);
        return NULL;
    }
    return Py_BuildValue("(NON)", folded, fin ? Py_True : Py_False, seen_str);
}

/* The placement weight of one character (aigclabel.marks.placement): 3 * UTF-8 length - 1, a lone
 * surrogate 8 as its surrogatepass encoding. */
static inline long long
placement_weight(Py_UCS4 c)
{
    return c < 0x80 ? 2 : c < 0x800 ? 5 : c < 0x10000 ? 8 : 11;
}

/* The first index where a packet may go on the line starting at *start*: after its first character,
 * or -1 when its indentation (a space 1 column, a tab 4) makes it indented code. */
static Py_ssize_t
line_first_safe(int kind, const void *data, Py_ssize_t n, Py_ssize_t start)
{
    Py_ssize_t end = start;
    long long indent = 0;
    while (end < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, end);
        if (c != ' ' && c != '\t') {
            break;
        }
        indent += c == '\t' ? 4 : 1;
        end++;
    }
    return indent >= 4 ? -1 : end + 1;
}

static Py_ssize_t
find_newline(int kind, const void *data, Py_ssize_t n, Py_ssize_t from)
{
    for (Py_ssize_t k = from; k < n; k++) {
        if (PyUnicode_READ(kind, data, k) == '\n') {
            return k;
        }
    }
    return n;
}

PyDoc_STRVAR(packet_places_doc,
             "packet_places(text, prev, budget, spacing, first_safe, safe_left, /)\n--\n\n"
             "Where the packet inserter puts packets in *text*, a chunk with line ends and no other\n"
             "markup character, no code, tag or fence open: (indices, budget left). *prev*: the\n"
             "character before *text*; *first_safe*: the first safe index of the line *text* starts\n"
             "in (-1: none); *safe_left*: the characters after which a packet may go (at most 64 of\n"
             "them non-ASCII). Each packet resets the budget to *spacing*. The pure-Python loop of\n"
             "Inserter._feed_lines is the reference.");

static PyObject *
packet_places(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "packet_places() takes 6 arguments");
        return NULL;
    }
    PyObject *text = args[0], *prev_obj = args[1], *safe_obj = args[5];
    if (!PyUnicode_Check(text) || !PyUnicode_Check(prev_obj) || !PyUnicode_Check(safe_obj) ||
        PyUnicode_GET_LENGTH(prev_obj) != 1) {
        PyErr_SetString(PyExc_TypeError, "packet_places() takes str text, one prev character and str safe_left");
        return NULL;
    }
    long long budget = PyLong_AsLongLong(args[2]);
    long long spacing = PyLong_AsLongLong(args[3]);
    Py_ssize_t first_safe = PyLong_AsSsize_t(args[4]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (spacing < 1) {
        PyErr_SetString(PyExc_ValueError, "packet_places() spacing must be at least 1");
        return NULL;
    }
    charset safe;
    if (charset_init(&safe, safe_obj) < 0) {
        return NULL;
    }
    Py_UCS4 prev = PyUnicode_READ_CHAR(prev_obj, 0);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *places = PyList_New(0);
    if (places == NULL) {
        return NULL;
    }
    Py_ssize_t line_end = find_newline(kind, data, n, 0);
    Py_ssize_t i = 0;
    while (i < n) {
        if (budget > 0) { /* spend it: the shortest text[i:j] whose weight reaches it */
            while (i < n && budget > 0) {
                budget -= placement_weight(PyUnicode_READ(kind, data, i));
                i++;
            }
            if (budget > 0) { /* the text ends first */
                break;
            }
            budget = 0;
            if (i >= n) {
                break;
            }
        }
        /* the next candidate: a letter or digit after a safe-left character */
        Py_ssize_t pos = -1;
        for (Py_ssize_t k = i; k < n; k++) {
            Py_UCS4 before = k > 0 ? PyUnicode_READ(kind, data, k - 1) : prev;
            if (charset_has(&safe, before) && is_alnum(PyUnicode_READ(kind, data, k))) {
                pos = k;
                break;
            }
        }
        if (pos < 0) {
            break;
        }
        if (pos > line_end) { /* a later line */
            Py_ssize_t start = pos;
            while (start > line_end + 1 && PyUnicode_READ(kind, data, start - 1) != '\n') {
                start--;
            }
            first_safe = line_first_safe(kind, data, n, start);
            line_end = find_newline(kind, data, n, pos);
        }
        if (first_safe < 0) { /* indented code: on to the next line */
            i = line_end;
        }
        else if (pos < first_safe) {
            i = first_safe;
        }
        else {
            PyObject *at = PyLong_FromSsize_t(pos);
            if (at == NULL || PyList_Append(places, at) < 0) {
                Py_XDECREF(at);
                Py_DECREF(places);
                return NULL;
            }
            Py_DECREF(at);
            budget = spacing;
            i = pos;
        }
    }
    return Py_BuildValue("(NL)", places, budget);
}

PyDoc_STRVAR(number_windows_doc,
             "number_windows(text, context, /)\n--\n\n"
             "The stretches of *text* around its numbers, merged where they overlap or touch, as a flat\n"
             "list [start, end, start, end, ...]: around each decimal digit (str.isdecimal) and each\n"
             "U+E001 / U+E002, the run of *context* characters on either side (at most 64 of them\n"
             "non-ASCII) and two more characters beyond each run.");

static PyObject *
number_windows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "number_windows() takes str text and str context");
        return NULL;
    }
    PyObject *text = args[0];
    charset context;
    if (charset_init(&context, args[1]) < 0) {
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *bounds = PyList_New(0);
    if (bounds == NULL) {
        return NULL;
    }
    Py_ssize_t lo_open = -1, hi_open = -1; /* the window being merged into */
    for (Py_ssize_t i = 0; i <= n; i++) {
        Py_ssize_t lo = 0, hi = 0;
        int last = i == n;
        if (!last) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (!(c == 0xE001 || c == 0xE002 || is_decimal(c))) {
                continue;
            }
            lo = i;
            while (lo > 0 && charset_has(&context, PyUnicode_READ(kind, data, lo - 1))) {
                lo--;
            }
            lo = lo >= 2 ? lo - 2 : 0;
            hi = i + 1;
            while (hi < n && charset_has(&context, PyUnicode_READ(kind, data, hi))) {
                hi++;
            }
            hi = hi + 2 <= n ? hi + 2 : n;
            if (lo_open >= 0 && lo <= hi_open) {
                if (hi > hi_open) {
                    hi_open = hi;
                }
                continue;
            }
        }
        if (lo_open >= 0) {
            PyObject *a = PyLong_FromSsize_t(lo_open), *b = PyLong_FromSsize_t(hi_open);
            int failed = a == NULL || b == NULL || PyList_Append(bounds, a) < 0 || PyList_Append(bounds, b) < 0;
            Py_XDECREF(a);
            Py_XDECREF(b);
            if (failed) {
                Py_DECREF(bounds);
                return NULL;
            }
        }
        lo_open = lo;
        hi_open = hi;
        if (last) {
            break;
        }
    }
    return bounds;
}

/* ---- The mark channels' byte codecs and CRC (aigclabel.marks.alphabet, aigclabel.marks.crc) ---- */

PyDoc_STRVAR(decode_cf_doc,
             "decode_cf(run, /)\n--\n\n"
             "The bytes of a run of Cf-channel characters (U+200B, U+200C, U+200D, U+2060: two bits each,\n"
             "most significant first), None when its length is not whole bytes; ValueError for any other\n"
             "character (aigclabel.marks.alphabet.decode_cf).");

static PyObject *
decode_cf(PyObject *module, PyObject *run)
{
    (void)module;
    if (!PyUnicode_Check(run)) {
        PyErr_SetString(PyExc_TypeError, "decode_cf() takes str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(run);
    if (n % 4) {
        Py_RETURN_NONE;
    }
    int kind = PyUnicode_KIND(run);
    const void *data = PyUnicode_DATA(run);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n / 4);
    if (out == NULL) {
        return NULL;
    }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i += 4) {
        unsigned int byte = 0;
        for (Py_ssize_t j = 0; j < 4; j++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i + j);
            unsigned int digit;
            if (c >= 0x200B && c <= 0x200D) {
                digit = c - 0x200B;
            }
            else if (c == 0x2060) {
                digit = 3;
            }
            else {
                Py_DECREF(out);
                PyErr_SetString(PyExc_ValueError, "decode_cf(): not a Cf-channel character");
                return NULL;
            }
            byte = byte << 2 | digit;
        }
        dst[i / 4] = (unsigned char)byte;
    }
    return out;
}

PyDoc_STRVAR(decode_mn_doc,
             "decode_mn(run, /)\n--\n\n"
             "The bytes of a run of variation selectors U+FE00-U+FE0F (four bits each, high nibble first)\n"
             "after an optional leading U+034F, None when its length is odd; ValueError for any other\n"
             "character (aigclabel.marks.alphabet.decode_mn).");

static PyObject *
decode_mn(PyObject *module, PyObject *run)
{
    (void)module;
    if (!PyUnicode_Check(run)) {
        PyErr_SetString(PyExc_TypeError, "decode_mn() takes str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(run), i = 0;
    int kind = PyUnicode_KIND(run);
    const void *data = PyUnicode_DATA(run);
    if (n > 0 && PyUnicode_READ(kind, data, 0) == 0x034F) {
        i = 1;
    }
    if ((n - i) % 2) {
        Py_RETURN_NONE;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (n - i) / 2);
    if (out == NULL) {
        return NULL;
    }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t k = 0; i < n; i += 2, k++) {
        Py_UCS4 hi = PyUnicode_READ(kind, data, i), lo = PyUnicode_READ(kind, data, i + 1);
        if (hi < 0xFE00 || hi > 0xFE0F || lo < 0xFE00 || lo > 0xFE0F) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_ValueError, "decode_mn(): not a variation selector");
            return NULL;
        }
        dst[k] = (unsigned char)((hi - 0xFE00) << 4 | (lo - 0xFE00));
    }
    return out;
}

PyDoc_STRVAR(crc8_doc,
             "crc8(data, /)\n--\n\n"
             "The CRC-8/SMBUS (polynomial 0x07, initial value 0) of a bytes-like object\n"
             "(aigclabel.marks.crc.crc8).");

static PyObject *
crc8(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)view.buf;
    unsigned int crc = 0;
    for (Py_ssize_t i = 0; i < view.len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) {
            crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xFF : (crc << 1) & 0xFF;
        }
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(crc);
}

/* ---- The language guess's state machine (aigclabel.explicit.LanguageGuess) ---- */

static inline int
is_cjk(Py_UCS4 o)
{
    return (o >= 0x2E80 && o <= 0x9FFF) || (o >= 0xAC00 && o <= 0xD7AF) || (o >= 0xF900 && o <= 0xFAFF) ||
           (o >= 0x20000 && o <= 0x3FFFF);
}

enum { LG_ZH = 1, LG_EN = 2 };

/* The decision on the counts so far: 0 for none (no letters), else LG_ZH or LG_EN. */
static long
language_decide(long cjk, long latin, long code_cjk, long code_latin, long first)
{
    long c = cjk, l = 2 * latin;
    if (!(c || l)) {
        c = code_cjk;
        l = 2 * code_latin;
        if (!(c || l)) {
            return 0;
        }
    }
    if (c == l) {
        return first;
    }
    return c > l ? LG_ZH : LG_EN;
}

PyDoc_STRVAR(language_scan_doc,
             "language_scan(text, state, window, limit, /)\n--\n\n"
             "Run LanguageGuess over *text* from *state*, a tuple of 13 ints (cjk, latin, code_cjk,\n"
             "code_latin, read, line_start, ticks, block, code, tag, word, first, decided; a language as\n"
             "0 none, 1 zh, 2 en), until it decides; return the new state. The step is\n"
             "aigclabel.explicit.LanguageGuess._step, the stopping rule its feed().");

static PyObject *
language_scan(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4 || !PyUnicode_Check(args[0]) || !PyTuple_Check(args[1]) || PyTuple_GET_SIZE(args[1]) != 13) {
        PyErr_SetString(PyExc_TypeError, "language_scan() takes str text, a 13-int state, window, limit");
        return NULL;
    }
    long st[13];
    for (int k = 0; k < 13; k++) {
        st[k] = PyLong_AsLong(PyTuple_GET_ITEM(args[1], k));
        if (st[k] == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    long window = PyLong_AsLong(args[2]), limit = PyLong_AsLong(args[3]);
    if ((window == -1 || limit == -1) && PyErr_Occurred()) {
        return NULL;
    }
    long cjk = st[0], latin = st[1], code_cjk = st[2], code_latin = st[3], read = st[4];
    long line_start = st[5], ticks = st[6], block = st[7], code = st[8], tag = st[9], word = st[10];
    long first = st[11], decided = st[12];
    PyObject *text = args[0];
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    for (Py_ssize_t i = 0; i < n && !decided; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        read++;
        /* one step: LanguageGuess._step */
        if (c == '\n') {
            if (ticks >= 3) {
                block = !block;
            }
            line_start = 1;
            code = tag = ticks = word = 0;
            goto decide;
        }
        if (line_start) {
            if (c == '`') {
                ticks++;
                goto decide;
            }
            if ((c == ' ' || c == '\t') && !ticks) {
                goto decide;
            }
            line_start = 0;
            if (ticks) {
                code = 1;
            }
        }
        if (c == '`') {
            if (ticks < 3) {
                code = !code;
            }
            word = 0;
            goto decide;
        }
        if (ticks >= 3) {
            goto decide;
        }
        if (block || code) {
            if (Py_UNICODE_ISALPHA(c)) {
                if (is_cjk(c)) {
                    code_cjk++;
                }
                else if (!word) {
                    code_latin++;
                }
                word = !is_cjk(c);
            }
            else {
                word = 0;
            }
            goto decide;
        }
        if (c == '<') {
            tag = 1;
        }
        else if (c == '>') {
            tag = 0;
        }
        else if (tag) {
            goto decide;
        }
        else if (Py_UNICODE_ISALPHA(c)) {
            if (is_cjk(c)) {
                cjk++;
                word = 0;
                if (!first) {
                    first = LG_ZH;
                }
            }
            else if (!word) {
                latin++;
                word = 1;
                if (!first) {
                    first = LG_EN;
                }
            }
            goto decide;
        }
        word = 0;
    decide:
        if (2 * latin + cjk >= window || read >= limit) {
            decided = language_decide(cjk, latin, code_cjk, code_latin, first);
        }
    }
    return Py_BuildValue("(lllllllllllll)", cjk, latin, code_cjk, code_latin, read, line_start, ticks, block, code,
                         tag, word, first, decided);
}

static PyMethodDef speedups_methods[] = {
    {"alnum_only", alnum_only, METH_O, alnum_only_doc},
    {"prefold", (PyCFunction)(void (*)(void))prefold, METH_FASTCALL, prefold_doc},
    {"packet_places", (PyCFunction)(void (*)(void))packet_places, METH_FASTCALL, packet_places_doc},
    {"number_windows", (PyCFunction)(void (*)(void))number_windows, METH_FASTCALL, number_windows_doc},
    {"find_any", (PyCFunction)(void (*)(void))find_any, METH_FASTCALL, find_any_doc},
    {"decode_cf", decode_cf, METH_O, decode_cf_doc},
    {"decode_mn", decode_mn, METH_O, decode_mn_doc},
    {"crc8", crc8, METH_O, crc8_doc},
    {"language_scan", (PyCFunction)(void (*)(void))language_scan, METH_FASTCALL, language_scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef_Slot speedups_slots[] = {
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "aigclabel.speedups",
    .m_doc = "Optional C versions of the canonical form's and the packet inserter's per-character loops.",
    .m_size = 0,
    .m_methods = speedups_methods,
    .m_slots = speedups_slots,
};

PyMODINIT_FUNC
PyInit_speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}

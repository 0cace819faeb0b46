/*
 * aigclabel.speedups: optional C versions of the hot per-character loops of the canonical form
 * (aigclabel.canonical) and the packet inserter's scans (aigclabel.marks.placement).
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
static unsigned char alnum_page_ready[256];

static void
fill_alnum_page(unsigned int page)
{
    for (unsigned int k = 0; k < 256; k++) {
        Py_UCS4 c = (Py_UCS4)(page << 8 | k);
        if (Py_UNICODE_ISALNUM(c)) {
            alnum_bits[page][k >> 6] |= (uint64_t)1 << (k & 63);
        }
    }
    alnum_page_ready[page] = 1;
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

/* The blocks whose characters that are not letters or digits decompose (NFKD) to no letter or digit
 * either: Latin-1 punctuation, General Punctuation, CJK Symbols and Punctuation, half-width CJK
 * punctuation. The tests check every such character against unicodedata. */
static inline int
in_punctuation_block(Py_UCS4 c)
{
    return (c >= 0xA0 && c <= 0xBF) || (c >= 0x2000 && c <= 0x206F) || (c >= 0x3000 && c <= 0x303F) ||
           (c >= 0xFF5F && c <= 0xFF65);
}

/* One character of prefold(): 0 to drop it, else the character to keep (never 0: NUL is not
 * alphanumeric and is dropped). *all_alnum is cleared when a kept character is not alphanumeric. */
static inline Py_UCS4
prefold_char(Py_UCS4 c, int *all_alnum)
{
    if (c < 128) {
        return is_alnum(c) ? c : 0;
    }
    if (c >= 0xFF01 && c <= 0xFF5E) { /* full-width ASCII: NFKD is the ASCII character */
        Py_UCS4 a = c - 0xFEE0;
        return is_alnum(a) ? a : 0;
    }
    if (is_alnum(c)) {
        return c;
    }
    if (in_punctuation_block(c)) {
        return 0;
    }
    *all_alnum = 0;
    return c;
}

#define PREFOLD_LOOP(TYPE)                                \
    do {                                                  \
        const TYPE *src = (const TYPE *)data;             \
        TYPE *dst = (TYPE *)out;                          \
        for (Py_ssize_t i = 0; i < n; i++) {              \
            Py_UCS4 c = prefold_char(src[i], &all_alnum); \
            if (c != 0) {                                 \
                dst[kept++] = (TYPE)c;                    \
            }                                             \
        }                                                 \
    } while (0)

PyDoc_STRVAR(prefold_doc,
             "prefold(text, /)\n--\n\n"
             "(folded, all_alnum): *text* with full-width ASCII (U+FF01-U+FF5E) folded to ASCII as\n"
             "NFKD folds it, then without the characters that are not letters or digits (str.isalnum)\n"
             "of ASCII, Latin-1 punctuation (U+00A0-U+00BF), General Punctuation (U+2000-U+206F), CJK\n"
             "Symbols and Punctuation (U+3000-U+303F) and half-width CJK punctuation (U+FF5F-U+FF65):\n"
             "none of them has a letter or digit in its NFKD. *all_alnum*: every character of *folded*\n"
             "is a letter or digit.");

static PyObject *
prefold(PyObject *module, PyObject *text)
{
    (void)module;
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "prefold() takes str, not %.100s", Py_TYPE(text)->tp_name);
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
    int all_alnum = 1;
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
    return Py_BuildValue("(NO)", folded, all_alnum ? Py_True : Py_False);
}

/* A set of up to MAX_SET characters: a bit mask for ASCII, a list for the rest (a small set: the
 * canonical form's markers, digits and operators). */
#define MAX_SET 64

typedef struct {
    uint64_t ascii[2];
    Py_UCS4 other[MAX_SET];
    Py_ssize_t n_other;
    Py_UCS4 lo, hi; /* bounds of the non-ASCII members: most characters fail one comparison */
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
    if (c < set->lo || c > set->hi) {
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

static PyMethodDef speedups_methods[] = {
    {"alnum_only", alnum_only, METH_O, alnum_only_doc},
    {"prefold", prefold, METH_O, prefold_doc},
    {"find_any", (PyCFunction)(void (*)(void))find_any, METH_FASTCALL, find_any_doc},
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

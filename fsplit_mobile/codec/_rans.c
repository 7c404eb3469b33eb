/*
 * _rans.c - CPython binding of the C99 coder in runtimes/c (fsplit_rans.h).
 *
 * Arrays travel through the buffer protocol (no numpy headers): int32 arrays must be C-contiguous
 * with 4-byte items. The Python layer (fsplit_mobile/codec/rans.py) prepares them and turns
 * _rans.Error(code, message) into the package's exception classes. The GIL is released while
 * coding.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <string.h>

#include "fsplit_interleaved.h"
#include "fsplit_interleaved2.h"
#include "fsplit_rans.h"

static PyObject *RansError; /* module-level exception type, args = (code, message) */

static int raise_status(int status)
{
    PyObject *args = Py_BuildValue("(is)", status, fsr_strerror(status));
    if (args != NULL) {
        PyErr_SetObject(RansError, args);
        Py_DECREF(args);
    }
    return -1;
}

/* Acquire a C-contiguous buffer of 4-byte integers. */
static int get_int32(PyObject *obj, Py_buffer *view, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    const char *fmt;
    if (PyObject_GetBuffer(obj, view, flags) != 0)
        return -1;
    fmt = view->format ? view->format : "B";
    if (*fmt == '<' || *fmt == '=' || *fmt == '@')
        fmt++;
    if (view->itemsize != 4 || (strcmp(fmt, "i") != 0 && !(strcmp(fmt, "l") == 0 && sizeof(long) == 4))) {
        PyErr_Format(PyExc_TypeError, "%s must be a contiguous int32 buffer (got format '%s', itemsize %zd)",
                     name, view->format ? view->format : "B", view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* The six table arguments shared by every call: cdf, cdf_stride, cdf_length, offset, precision,
 * lookup (None or a uint16 buffer from build_lookup). */
typedef struct {
    Py_buffer cdf, length, offset, lookup;
    int have_cdf, have_length, have_offset, have_lookup;
    fsr_tables view;
} tables_arg;

#define TABLES_FORMAT "OnOOIO"

static void tables_release(tables_arg *t)
{
    if (t->have_cdf)
        PyBuffer_Release(&t->cdf);
    if (t->have_length)
        PyBuffer_Release(&t->length);
    if (t->have_offset)
        PyBuffer_Release(&t->offset);
    if (t->have_lookup)
        PyBuffer_Release(&t->lookup);
}

static int tables_acquire(tables_arg *t, PyObject *cdf, Py_ssize_t stride, PyObject *length, PyObject *offset,
                          unsigned precision, PyObject *lookup)
{
    Py_ssize_t n;
    t->have_cdf = t->have_length = t->have_offset = t->have_lookup = 0;
    if (get_int32(cdf, &t->cdf, 0, "cdf") != 0)
        return -1;
    t->have_cdf = 1;
    if (get_int32(length, &t->length, 0, "cdf_length") != 0)
        return -1;
    t->have_length = 1;
    if (get_int32(offset, &t->offset, 0, "offset") != 0)
        return -1;
    t->have_offset = 1;
    n = t->length.len / 4;
    if (stride <= 0 || n == 0 || t->offset.len / 4 != n || t->cdf.len / 4 < n * stride || n > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "inconsistent table buffer sizes");
        return -1;
    }
    t->view.cdf = (const int32_t *)t->cdf.buf;
    t->view.cdf_stride = (size_t)stride;
    t->view.cdf_length = (const int32_t *)t->length.buf;
    t->view.offset = (const int32_t *)t->offset.buf;
    t->view.num_cdfs = (uint32_t)n;
    t->view.precision = precision;
    t->view.lookup = NULL;
    if (lookup != Py_None) {
        if (PyObject_GetBuffer(lookup, &t->lookup, PyBUF_C_CONTIGUOUS) != 0)
            return -1;
        t->have_lookup = 1;
        if (t->lookup.itemsize != 2 || t->lookup.len / 2 < n * (Py_ssize_t)FSR_LOOKUP_STRIDE) {
            PyErr_SetString(PyExc_ValueError,
                            "lookup must be a uint16 buffer of num_cdfs * LOOKUP_STRIDE entries");
            return -1;
        }
        t->view.lookup = (const uint16_t *)t->lookup.buf;
    }
    return 0;
}

static PyObject *bytes_from_encoder(int status, uint8_t *buf, size_t len)
{
    PyObject *out = NULL;
    if (status == FSR_OK)
        out = PyBytes_FromStringAndSize((const char *)buf, (Py_ssize_t)len);
    else
        raise_status(status);
    free(buf);
    return out;
}

static uint8_t *alloc_bound(size_t n, size_t *cap)
{
    uint8_t *buf;
    *cap = fsr_encode_bound(n);
    if (*cap == 0) {
        PyErr_SetString(PyExc_OverflowError, "too many symbols");
        return NULL;
    }
    buf = (uint8_t *)malloc(*cap);
    if (buf == NULL)
        PyErr_NoMemory();
    return buf;
}

PyDoc_STRVAR(encode_doc,
             "encode(symbols, indexes, cdf, cdf_stride, cdf_length, offset, precision, lookup) -> bytes");

static PyObject *py_encode(PyObject *self, PyObject *args)
{
    PyObject *sym_o, *idx_o, *cdf_o, *len_o, *off_o, *lookup_o, *out = NULL;
    Py_ssize_t stride;
    unsigned precision;
    Py_buffer sym, idx;
    tables_arg t;
    uint8_t *buf;
    size_t cap, len = 0, n;
    int st;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO" TABLES_FORMAT, &sym_o, &idx_o, &cdf_o, &stride, &len_o, &off_o,
                          &precision, &lookup_o))
        return NULL;
    if (get_int32(sym_o, &sym, 0, "symbols") != 0)
        return NULL;
    if (get_int32(idx_o, &idx, 0, "indexes") != 0) {
        PyBuffer_Release(&sym);
        return NULL;
    }
    if (tables_acquire(&t, cdf_o, stride, len_o, off_o, precision, lookup_o) != 0)
        goto done;
    n = (size_t)(sym.len / 4);
    if (idx.len != sym.len) {
        PyErr_SetString(PyExc_ValueError, "symbols and indexes differ in length");
        goto done;
    }
    if ((buf = alloc_bound(n, &cap)) == NULL)
        goto done;
    Py_BEGIN_ALLOW_THREADS st =
        fsr_encode(&t.view, (const int32_t *)sym.buf, (const int32_t *)idx.buf, n, buf, cap, &len);
    Py_END_ALLOW_THREADS out = bytes_from_encoder(st, buf, len);
done:
    tables_release(&t);
    PyBuffer_Release(&sym);
    PyBuffer_Release(&idx);
    return out;
}

PyDoc_STRVAR(
    encode_planar_doc,
    "encode_planar(symbols, num_planes, cdf, cdf_stride, cdf_length, offset, precision, lookup) -> bytes\n"
    "Index of every symbol of plane p (C order) is p.");

/* encode_planar and ilv_encode_planar: the same call, the interleaved one with lanes and impl after num_planes. */
static PyObject *planar_encode(PyObject *args, int ilv)
{
    PyObject *sym_o, *cdf_o, *len_o, *off_o, *lookup_o, *out = NULL;
    Py_ssize_t stride, planes;
    unsigned precision, lanes = 1;
    int impl = FSR_IMPL_AUTO, parsed, st;
    Py_buffer sym;
    tables_arg t;
    uint8_t *buf;
    size_t cap, len = 0, n;
    if (ilv)
        parsed = PyArg_ParseTuple(args, "OnIi" TABLES_FORMAT, &sym_o, &planes, &lanes, &impl, &cdf_o, &stride,
                                  &len_o, &off_o, &precision, &lookup_o);
    else
        parsed = PyArg_ParseTuple(args, "On" TABLES_FORMAT, &sym_o, &planes, &cdf_o, &stride, &len_o, &off_o,
                                  &precision, &lookup_o);
    if (!parsed)
        return NULL;
    if (get_int32(sym_o, &sym, 0, "symbols") != 0)
        return NULL;
    if (tables_acquire(&t, cdf_o, stride, len_o, off_o, precision, lookup_o) != 0)
        goto done;
    n = (size_t)(sym.len / 4);
    if (planes <= 0 || planes > UINT32_MAX || n % (size_t)planes != 0) {
        PyErr_SetString(PyExc_ValueError, "symbol count is not a multiple of num_planes");
        goto done;
    }
    if (ilv) {
        if ((cap = fsr_ilv_encode_bound(n, lanes)) == 0) {
            raise_status(FSR_ERR_ARGUMENT);
            goto done;
        }
        if ((buf = (uint8_t *)malloc(cap)) == NULL) {
            PyErr_NoMemory();
            goto done;
        }
    } else if ((buf = alloc_bound(n, &cap)) == NULL) {
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS if (ilv) st = fsr_ilv_encode_planar_with(
        impl, &t.view, lanes, (const int32_t *)sym.buf, (uint32_t)planes, n / (size_t)planes, buf, cap, &len);
    else st = fsr_encode_planar(&t.view, (const int32_t *)sym.buf, (uint32_t)planes, n / (size_t)planes, buf,
                                cap, &len);
    Py_END_ALLOW_THREADS out = bytes_from_encoder(st, buf, len);
done:
    tables_release(&t);
    PyBuffer_Release(&sym);
    return out;
}

static PyObject *py_encode_planar(PyObject *self, PyObject *args)
{
    (void)self;
    return planar_encode(args, 0);
}

PyDoc_STRVAR(decode_doc,
             "decode(data, indexes, cdf, cdf_stride, cdf_length, offset, precision, lookup, out) -> None\n"
             "Writes len(indexes) symbols into the int32 buffer out.");

static PyObject *py_decode(PyObject *self, PyObject *args)
{
    PyObject *idx_o, *cdf_o, *len_o, *off_o, *lookup_o, *out_o, *result = NULL;
    Py_ssize_t stride;
    unsigned precision;
    Py_buffer data, idx, out;
    tables_arg t;
    int st;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*O" TABLES_FORMAT "O", &data, &idx_o, &cdf_o, &stride, &len_o, &off_o,
                          &precision, &lookup_o, &out_o))
        return NULL;
    if (get_int32(idx_o, &idx, 0, "indexes") != 0) {
        PyBuffer_Release(&data);
        return NULL;
    }
    if (get_int32(out_o, &out, 1, "out") != 0) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&idx);
        return NULL;
    }
    if (tables_acquire(&t, cdf_o, stride, len_o, off_o, precision, lookup_o) != 0)
        goto done;
    if (out.len != idx.len) {
        PyErr_SetString(PyExc_ValueError, "out and indexes differ in length");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS st = fsr_decode(&t.view, (const int32_t *)idx.buf, (size_t)(idx.len / 4),
                                           (const uint8_t *)data.buf, (size_t)data.len, (int32_t *)out.buf);
    Py_END_ALLOW_THREADS if (st != FSR_OK) raise_status(st);
    else result = Py_NewRef(Py_None);
done:
    tables_release(&t);
    PyBuffer_Release(&data);
    PyBuffer_Release(&idx);
    PyBuffer_Release(&out);
    return result;
}

PyDoc_STRVAR(
    decode_planar_doc,
    "decode_planar(data, num_planes, cdf, cdf_stride, cdf_length, offset, precision, lookup, out) -> None");

/* decode_planar and ilv_decode_planar, as planar_encode. */
static PyObject *planar_decode(PyObject *args, int ilv)
{
    PyObject *cdf_o, *len_o, *off_o, *lookup_o, *out_o, *result = NULL;
    Py_ssize_t stride, planes;
    unsigned precision, lanes = 1;
    int impl = FSR_IMPL_AUTO, parsed, st;
    Py_buffer data, out;
    tables_arg t;
    size_t n;
    if (ilv)
        parsed = PyArg_ParseTuple(args, "y*nIi" TABLES_FORMAT "O", &data, &planes, &lanes, &impl, &cdf_o,
                                  &stride, &len_o, &off_o, &precision, &lookup_o, &out_o);
    else
        parsed = PyArg_ParseTuple(args, "y*n" TABLES_FORMAT "O", &data, &planes, &cdf_o, &stride, &len_o,
                                  &off_o, &precision, &lookup_o, &out_o);
    if (!parsed)
        return NULL;
    if (get_int32(out_o, &out, 1, "out") != 0) {
        PyBuffer_Release(&data);
        return NULL;
    }
    if (tables_acquire(&t, cdf_o, stride, len_o, off_o, precision, lookup_o) != 0)
        goto done;
    n = (size_t)(out.len / 4);
    if (planes <= 0 || planes > UINT32_MAX || n % (size_t)planes != 0) {
        PyErr_SetString(PyExc_ValueError, "out length is not a multiple of num_planes");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS if (ilv) st =
        fsr_ilv_decode_planar_with(impl, &t.view, lanes, (uint32_t)planes, n / (size_t)planes,
                                   (const uint8_t *)data.buf, (size_t)data.len, (int32_t *)out.buf);
    else st = fsr_decode_planar(&t.view, (uint32_t)planes, n / (size_t)planes, (const uint8_t *)data.buf,
                                (size_t)data.len, (int32_t *)out.buf);
    Py_END_ALLOW_THREADS if (st != FSR_OK) raise_status(st);
    else result = Py_NewRef(Py_None);
done:
    tables_release(&t);
    PyBuffer_Release(&data);
    PyBuffer_Release(&out);
    return result;
}

static PyObject *py_decode_planar(PyObject *self, PyObject *args)
{
    (void)self;
    return planar_decode(args, 0);
}

PyDoc_STRVAR(
    ilv_encode_planar_doc,
    "ilv_encode_planar(symbols, num_planes, lanes, impl, cdf, cdf_stride, cdf_length, offset, precision, "
    "lookup) -> bytes\nInterleaved payload (docs/formats.md section 4); impl 0 = fastest available.");

static PyObject *py_ilv_encode_planar(PyObject *self, PyObject *args)
{
    (void)self;
    return planar_encode(args, 1);
}

PyDoc_STRVAR(
    ilv_decode_planar_doc,
    "ilv_decode_planar(data, num_planes, lanes, impl, cdf, cdf_stride, cdf_length, offset, precision, "
    "lookup, out) -> None");

static PyObject *py_ilv_decode_planar(PyObject *self, PyObject *args)
{
    (void)self;
    return planar_decode(args, 1);
}

PyDoc_STRVAR(
    fill_int32_doc,
    "fill_int32(list_or_tuple, out) -> bool\n"
    "Copy a flat sequence of Python ints into the int32 buffer out (same length). False, with out\n"
    "unspecified, when an item is not an int or leaves int32: the caller then takes its slow path,\n"
    "which names the problem. Why: numpy converts a 37632-int list in ~1 ms, longer than coding it.");

static PyObject *py_fill_int32(PyObject *self, PyObject *args)
{
    PyObject *seq_o, *out_o, *fast;
    Py_buffer out;
    Py_ssize_t n, i;
    int ok = 1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &seq_o, &out_o))
        return NULL;
    if (!PyList_Check(seq_o) && !PyTuple_Check(seq_o))
        Py_RETURN_FALSE;
    if (get_int32(out_o, &out, 1, "out") != 0)
        return NULL;
    fast = PySequence_Fast(seq_o, "expected a list or tuple");
    if (fast == NULL) {
        PyBuffer_Release(&out);
        return NULL;
    }
    n = PySequence_Fast_GET_SIZE(fast);
    if (n != out.len / 4) {
        ok = 0;
    } else {
        PyObject **items = PySequence_Fast_ITEMS(fast), *prev = NULL;
        int32_t *dst = (int32_t *)out.buf, prev_v = 0;
        for (i = 0; i < n; i++) {
            PyObject *item = items[i];
            long v;
            int overflow = 0;
            /* The same object as the item before holds the same value: CompressAI's index lists are runs of one
             * small int (a shared object), so most items cost one pointer comparison. */
            if (item == prev) {
                dst[i] = prev_v;
                continue;
            }
            if (!PyLong_CheckExact(item)) {
                ok = 0;
                break;
            }
            v = PyLong_AsLongAndOverflow(item, &overflow);
            if (overflow != 0 || v < INT32_MIN || v > INT32_MAX) {
                ok = 0;
                break;
            }
            dst[i] = prev_v = (int32_t)v;
            prev = item;
        }
    }
    Py_DECREF(fast);
    PyBuffer_Release(&out);
    if (ok)
        Py_RETURN_TRUE;
    Py_RETURN_FALSE;
}

PyDoc_STRVAR(
    content_key_doc,
    "content_key(cdfs, cdf_sizes, offsets) -> bytes or None\n"
    "A copy of the drop-in's table arguments as one bytes object (counts, then every value as a\n"
    "native int32): the table cache's key. None unless cdfs is a list/tuple of lists/tuples of exact\n"
    "ints and cdf_sizes, offsets lists/tuples of exact ints, all within int32 (the caller then builds\n"
    "its Python key). Why: the Python key took 30-160 us a call, as long as coding a 320x7x7 latent.");

/* Items and count of an exact list or tuple; -1 for anything else. */
static Py_ssize_t key_items(PyObject *seq, PyObject ***items)
{
    if (PyList_CheckExact(seq)) {
        *items = ((PyListObject *)seq)->ob_item;
        return PyList_GET_SIZE(seq);
    }
    if (PyTuple_CheckExact(seq)) {
        *items = ((PyTupleObject *)seq)->ob_item;
        return PyTuple_GET_SIZE(seq);
    }
    return -1;
}

/* Int32 entries [n][n values] of a flat list/tuple (-1 if it is none); writes them at dst if not NULL,
 * returning -1 on an item that is not an exact int within int32. */
static Py_ssize_t key_flat(PyObject *seq, int32_t *dst)
{
    PyObject **items;
    Py_ssize_t n = key_items(seq, &items), i;
    if (n < 0 || n > INT32_MAX)
        return -1;
    if (dst != NULL) {
        dst[0] = (int32_t)n;
        for (i = 0; i < n; i++) {
            int overflow = 0;
            long v;
            if (!PyLong_CheckExact(items[i]))
                return -1;
            v = PyLong_AsLongAndOverflow(items[i], &overflow);
            if (overflow != 0 || v < INT32_MIN || v > INT32_MAX)
                return -1;
            dst[1 + i] = (int32_t)v;
        }
    }
    return 1 + n;
}

/* Int32 entries of the rows of cdfs: [rows] then key_flat of each row; -1 as key_flat. */
static Py_ssize_t key_rows(PyObject *rows, int32_t *dst)
{
    PyObject **items;
    Py_ssize_t n = key_items(rows, &items), i, size = 1, part;
    if (n < 0 || n > INT32_MAX)
        return -1;
    if (dst != NULL)
        dst[0] = (int32_t)n;
    for (i = 0; i < n; i++) {
        if ((part = key_flat(items[i], dst != NULL ? dst + size : NULL)) < 0)
            return -1;
        size += part;
    }
    return size;
}

static PyObject *py_content_key(PyObject *self, PyObject *args)
{
    PyObject *cdfs, *sizes, *offsets, *out;
    Py_ssize_t a, b, c;
    int32_t *dst;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &cdfs, &sizes, &offsets))
        return NULL;
    /* the shape first (no item is read), then one pass over the values; no Python code runs meanwhile */
    if ((a = key_rows(cdfs, NULL)) < 0 || (b = key_flat(sizes, NULL)) < 0 ||
        (c = key_flat(offsets, NULL)) < 0 || a + b + c > PY_SSIZE_T_MAX / 4)
        Py_RETURN_NONE;
    out = PyBytes_FromStringAndSize(NULL, 4 * (a + b + c));
    if (out == NULL)
        return NULL;
    dst = (int32_t *)PyBytes_AS_STRING(out);
    if (key_rows(cdfs, dst) < 0 || key_flat(sizes, dst + a) < 0 || key_flat(offsets, dst + a + b) < 0) {
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return out;
}
/* ---------------------------------------------------------------- trusted coder tables
 *
 * DecoderTables and EncoderTables own private copies of validated tables and the table their trusted coder reads
 * (fsr_dtable_build / fsr_etable_build). They expose no buffer and no setter, so nothing in Python can change what
 * decode_trusted / encode_planar_trusted read: the tables are validated once, when the object is built, and the
 * trusted calls skip the per-call check (the indexes, the symbols and the stream are still checked). */
typedef struct {
    PyObject_HEAD fsr_tables view; /* points into mem */
    void *table; /* fsr_dentry (DecoderTables) or fsr_eentry (EncoderTables), into mem too */
    void *mem;
} TrustedTablesObject;

static void trusted_dealloc(PyObject *self)
{
    free(((TrustedTablesObject *)self)->mem);
    Py_TYPE(self)->tp_free(self);
}

static PyObject *trusted_num_cdfs(PyObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(((TrustedTablesObject *)self)->view.num_cdfs);
}

static PyObject *trusted_precision(PyObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(((TrustedTablesObject *)self)->view.precision);
}

static PyGetSetDef trusted_getset[] = {{"num_cdfs", trusted_num_cdfs, NULL, "number of CDF rows", NULL},
                                       {"precision", trusted_precision, NULL, "CDF precision in bits", NULL},
                                       {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject DecoderTablesType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fsplit_mobile.codec._rans.DecoderTables",
    .tp_basicsize = sizeof(TrustedTablesObject),
    .tp_dealloc = trusted_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_doc = "Immutable private copy of validated CDF tables with their decoder table (decoder_tables()).",
    .tp_getset = trusted_getset,
};

static PyTypeObject EncoderTablesType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fsplit_mobile.codec._rans.EncoderTables",
    .tp_basicsize = sizeof(TrustedTablesObject),
    .tp_dealloc = trusted_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_doc = "Immutable private copy of validated CDF tables with their encoder table of reciprocals "
              "(encoder_tables()).",
    .tp_getset = trusted_getset,
};

static int build_dtable(const fsr_tables *t, void *table, size_t entries)
{
    return fsr_dtable_build(t, (fsr_dentry *)table, entries);
}

static int build_etable(const fsr_tables *t, void *table, size_t entries)
{
    return fsr_etable_build(t, (fsr_eentry *)table, entries);
}

/* The object of `type` for the tables in args: entries of entry_size bytes (entry_size a multiple of 8, so the
 * int32 copies after them stay aligned), filled by build from the private copy. */
static PyObject *trusted_tables_new(PyObject *args, PyTypeObject *type, size_t (*count)(const fsr_tables *),
                                    size_t entry_size, int (*build)(const fsr_tables *, void *, size_t))
{
    PyObject *cdf_o, *len_o, *off_o, *lookup_o;
    Py_ssize_t stride;
    unsigned precision;
    tables_arg t;
    TrustedTablesObject *obj = NULL;
    size_t n, cdf_n, entries, size;
    int32_t *cdf, *lengths, *offsets;
    int st;
    if (!PyArg_ParseTuple(args, TABLES_FORMAT, &cdf_o, &stride, &len_o, &off_o, &precision, &lookup_o))
        return NULL;
    if (tables_acquire(&t, cdf_o, stride, len_o, off_o, precision, Py_None) != 0)
        goto done;
    if ((entries = count(&t.view)) == 0) {
        raise_status(FSR_ERR_TABLES);
        goto done;
    }
    n = t.view.num_cdfs;
    cdf_n = n * t.view.cdf_stride; /* within the acquired buffer: no overflow */
    if (entries > (SIZE_MAX - 4 * (cdf_n + 2 * n)) / entry_size) {
        PyErr_NoMemory();
        goto done;
    }
    size = entries * entry_size + 4 * (cdf_n + 2 * n); /* entries first: aligned for the entry type */
    if ((obj = PyObject_New(TrustedTablesObject, type)) == NULL)
        goto done;
    obj->mem = NULL;
    if ((obj->mem = malloc(size)) == NULL) {
        Py_CLEAR(obj);
        PyErr_NoMemory();
        goto done;
    }
    obj->table = obj->mem;
    cdf = (int32_t *)((char *)obj->mem + entries * entry_size);
    lengths = cdf + cdf_n;
    offsets = lengths + n;
    memcpy(cdf, t.view.cdf, 4 * cdf_n);
    memcpy(lengths, t.view.cdf_length, 4 * n);
    memcpy(offsets, t.view.offset, 4 * n);
    obj->view = t.view;
    obj->view.cdf = cdf;
    obj->view.cdf_length = lengths;
    obj->view.offset = offsets;
    obj->view.lookup = NULL;
    /* validates the private copy: what the trusted coder will read is what was checked */
    if ((st = build(&obj->view, obj->table, entries)) != FSR_OK) {
        Py_CLEAR(obj);
        raise_status(st);
    }
done:
    tables_release(&t);
    return (PyObject *)obj;
}

PyDoc_STRVAR(decoder_tables_doc,
             "decoder_tables(cdf, cdf_stride, cdf_length, offset, precision, lookup) -> DecoderTables\n"
             "Validate the tables and copy them, with their decoder table, into an immutable object for\n"
             "decode_trusted (lookup is ignored). Raises Error(FSR_ERR_TABLES) for invalid tables.");

static PyObject *py_decoder_tables(PyObject *self, PyObject *args)
{
    (void)self;
    return trusted_tables_new(args, &DecoderTablesType, fsr_dtable_entries, sizeof(fsr_dentry), build_dtable);
}

PyDoc_STRVAR(
    encoder_tables_doc,
    "encoder_tables(cdf, cdf_stride, cdf_length, offset, precision, lookup) -> EncoderTables\n"
    "Validate the tables and copy them, with their encoder table (reciprocals), into an immutable object\n"
    "for encode_planar_trusted (lookup is ignored). Raises Error(FSR_ERR_TABLES) for invalid tables.");

static PyObject *py_encoder_tables(PyObject *self, PyObject *args)
{
    (void)self;
    return trusted_tables_new(args, &EncoderTablesType, fsr_etable_entries, sizeof(fsr_eentry), build_etable);
}

PyDoc_STRVAR(
    encode_planar_trusted_doc,
    "encode_planar_trusted(encoder_tables, symbols, num_planes) -> bytes\n"
    "encode_planar() with an EncoderTables: the same bytes and errors, a multiply by a reciprocal instead\n"
    "of a division per symbol and no per-call table check.");

static PyObject *py_encode_planar_trusted(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    TrustedTablesObject *enc;
    Py_buffer sym;
    Py_ssize_t planes;
    PyObject *out = NULL;
    uint8_t *buf;
    size_t cap, len = 0, n;
    int st;
    (void)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "encode_planar_trusted(encoder_tables, symbols, num_planes) takes 3 arguments");
        return NULL;
    }
    if (!Py_IS_TYPE(args[0], &EncoderTablesType)) {
        PyErr_SetString(PyExc_TypeError, "encode_planar_trusted: first argument must be an EncoderTables");
        return NULL;
    }
    enc = (TrustedTablesObject *)args[0];
    if ((planes = PyLong_AsSsize_t(args[2])) == -1 && PyErr_Occurred())
        return NULL;
    if (get_int32(args[1], &sym, 0, "symbols") != 0)
        return NULL;
    n = (size_t)(sym.len / 4);
    if (planes <= 0 || planes > UINT32_MAX || n % (size_t)planes != 0) {
        PyErr_SetString(PyExc_ValueError, "symbol count is not a multiple of num_planes");
        goto done;
    }
    if ((buf = alloc_bound(n, &cap)) == NULL)
        goto done;
    Py_BEGIN_ALLOW_THREADS st =
        fsr_encode_planar_trusted(&enc->view, (const fsr_eentry *)enc->table, (const int32_t *)sym.buf,
                                  (uint32_t)planes, n / (size_t)planes, buf, cap, &len);
    Py_END_ALLOW_THREADS out = bytes_from_encoder(st, buf, len);
done:
    PyBuffer_Release(&sym);
    return out;
}

PyDoc_STRVAR(
    decode_trusted_doc,
    "decode_trusted(decoder_tables, data, indexes, out) -> None\n"
    "decode() with a DecoderTables (no per-call table check): writes len(indexes) symbols into the int32\n"
    "buffer out; same symbols and errors as decode().");

static PyObject *py_decode_trusted(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    TrustedTablesObject *dec;
    Py_buffer data, idx, out;
    PyObject *result = NULL;
    int st;
    (void)self;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "decode_trusted(decoder_tables, data, indexes, out) takes 4 arguments");
        return NULL;
    }
    if (!Py_IS_TYPE(args[0], &DecoderTablesType)) {
        PyErr_SetString(PyExc_TypeError, "decode_trusted: first argument must be a DecoderTables");
        return NULL;
    }
    dec = (TrustedTablesObject *)args[0];
    if (PyObject_GetBuffer(args[1], &data, PyBUF_SIMPLE) != 0)
        return NULL;
    if (get_int32(args[2], &idx, 0, "indexes") != 0) {
        PyBuffer_Release(&data);
        return NULL;
    }
    if (get_int32(args[3], &out, 1, "out") != 0) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&idx);
        return NULL;
    }
    if (out.len != idx.len) {
        PyErr_SetString(PyExc_ValueError, "out and indexes differ in length");
    } else {
        Py_BEGIN_ALLOW_THREADS st = fsr_decode_trusted(
            &dec->view, (const fsr_dentry *)dec->table, (const int32_t *)idx.buf, (size_t)(idx.len / 4),
            (const uint8_t *)data.buf, (size_t)data.len, (int32_t *)out.buf);
        Py_END_ALLOW_THREADS if (st != FSR_OK) raise_status(st);
        else result = Py_NewRef(Py_None);
    }
    PyBuffer_Release(&data);
    PyBuffer_Release(&idx);
    PyBuffer_Release(&out);
    return result;
}

/* ---------------------------------------------------------------- snapshot of the drop-in's table lists
 *
 * A snapshot holds a strong reference to every item of the table lists (the rows of cdfs, cdf_sizes, offsets), so
 * none of those int objects can be freed and its address reused: a list whose items are the very same objects, in
 * the same places, holds the same values (exact ints are immutable). snapshot_matches checks that by comparing the
 * item pointers, without reading any int: a few microseconds where a content key of 320 rows takes ~20. */
typedef struct {
    PyObject_HEAD Py_ssize_t nrows; /* rows of cdfs */
    Py_ssize_t *lens;               /* nrows + 2 sequence lengths: the rows, then cdf_sizes, offsets */
    PyObject **items;               /* every item, in that order, each holding a reference */
    Py_ssize_t nitems;
} SnapshotObject;

static void snapshot_dealloc(PyObject *self)
{
    SnapshotObject *snap = (SnapshotObject *)self;
    Py_ssize_t i;
    for (i = 0; i < snap->nitems; i++)
        Py_DECREF(snap->items[i]);
    PyMem_Free(snap->items);
    PyMem_Free(snap->lens);
    Py_TYPE(self)->tp_free(self);
}

static PyTypeObject SnapshotType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fsplit_mobile.codec._rans.TablesSnapshot",
    .tp_basicsize = sizeof(SnapshotObject),
    .tp_dealloc = snapshot_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_doc = "The item objects of the drop-in's table lists (content_key_snapshot, snapshot_matches).",
};

/* The nrows + 2 sequences of (cdfs, sizes, offsets) in order: seq(k) for k < nrows is row k. */
static PyObject *snapshot_seq(PyObject *rows_items[], Py_ssize_t nrows, PyObject *sizes, PyObject *offsets,
                              Py_ssize_t k)
{
    return k < nrows ? rows_items[k] : (k == nrows ? sizes : offsets);
}

/* A snapshot of the item objects of lists/tuples the content key accepted (so exact ints within int32). */
static PyObject *snapshot_new(PyObject *cdfs, PyObject *sizes, PyObject *offsets)
{
    PyObject **rows, **items;
    Py_ssize_t nrows = key_items(cdfs, &rows), k, i, total = 0;
    SnapshotObject *snap;
    if (nrows < 0)
        return NULL;
    for (k = 0; k < nrows + 2; k++)
        total += key_items(snapshot_seq(rows, nrows, sizes, offsets, k), &items);
    if ((snap = PyObject_New(SnapshotObject, &SnapshotType)) == NULL)
        return NULL;
    snap->nrows = nrows;
    snap->nitems = 0;
    snap->lens = PyMem_New(Py_ssize_t, nrows + 2);
    snap->items = PyMem_New(PyObject *, total > 0 ? total : 1);
    if (snap->lens == NULL || snap->items == NULL) {
        Py_DECREF(snap);
        return PyErr_NoMemory();
    }
    for (k = 0; k < nrows + 2; k++) {
        Py_ssize_t n = key_items(snapshot_seq(rows, nrows, sizes, offsets, k), &items);
        snap->lens[k] = n;
        for (i = 0; i < n; i++)
            snap->items[snap->nitems++] = Py_NewRef(items[i]);
    }
    return (PyObject *)snap;
}

PyDoc_STRVAR(
    content_key_snapshot_doc,
    "content_key_snapshot(cdfs, cdf_sizes, offsets) -> (bytes, snapshot) or None\n"
    "content_key() and a snapshot of the same lists' items, taken together (no Python code runs between\n"
    "them), for snapshot_matches().");

static PyObject *py_content_key_snapshot(PyObject *self, PyObject *args)
{
    PyObject *cdfs, *sizes, *offsets, *key, *snap;
    if (!PyArg_ParseTuple(args, "OOO", &cdfs, &sizes, &offsets))
        return NULL;
    /* nothing below runs Python code: both allocations are of non-GC objects and every item is an exact int */
    key = py_content_key(self, args);
    if (key == NULL || key == Py_None)
        return key;
    if ((snap = snapshot_new(cdfs, sizes, offsets)) == NULL) {
        Py_DECREF(key);
        return NULL;
    }
    return Py_BuildValue("(NN)", key, snap);
}

PyDoc_STRVAR(
    snapshot_matches_doc,
    "snapshot_matches(snapshot, cdfs, cdf_sizes, offsets) -> bool\n"
    "True when the arguments are lists/tuples holding the snapshot's very item objects in the same places,\n"
    "hence the same content as when the snapshot was taken; False otherwise (then compare by content).");

static PyObject *py_snapshot_matches(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    SnapshotObject *snap;
    PyObject **rows, **items, **expect;
    Py_ssize_t nrows, k;
    (void)self;
    if (nargs != 4 || !Py_IS_TYPE(args[0], &SnapshotType)) {
        PyErr_SetString(PyExc_TypeError, "snapshot_matches(snapshot, cdfs, cdf_sizes, offsets)");
        return NULL;
    }
    snap = (SnapshotObject *)args[0];
    nrows = key_items(args[1], &rows);
    if (nrows != snap->nrows)
        Py_RETURN_FALSE;
    expect = snap->items;
    for (k = 0; k < nrows + 2; k++) {
        Py_ssize_t n = key_items(snapshot_seq(rows, nrows, args[2], args[3], k), &items);
        if (n != snap->lens[k] || (n > 0 && memcmp(items, expect, (size_t)n * sizeof(PyObject *)) != 0))
            Py_RETURN_FALSE;
        expect += n;
    }
    Py_RETURN_TRUE;
}

PyDoc_STRVAR(ilv_impls_doc, "ilv_impls() -> (auto name, tuple of available implementation names)");

static PyObject *py_ilv_impls(PyObject *self, PyObject *unused)
{
    PyObject *names = PyTuple_New(0);
    int impl;
    (void)self;
    (void)unused;
    for (impl = FSR_IMPL_SCALAR; impl <= FSR_IMPL_NEON && names != NULL; impl++) {
        if (fsr_ilv_impl_available(impl)) {
            PyObject *name = PyUnicode_FromString(fsr_ilv_impl_name(impl));
            Py_ssize_t k = PyTuple_GET_SIZE(names);
            if (name == NULL || _PyTuple_Resize(&names, k + 1) != 0) {
                Py_XDECREF(name);
                return NULL;
            }
            PyTuple_SET_ITEM(names, k, name);
        }
    }
    if (names == NULL)
        return NULL;
    return Py_BuildValue("(sN)", fsr_ilv_impl_name(FSR_IMPL_AUTO), names);
}

PyDoc_STRVAR(check_tables_doc,
             "check_tables(cdf, cdf_stride, cdf_length, offset, precision, lookup) -> None");

static PyObject *py_check_tables(PyObject *self, PyObject *args)
{
    PyObject *cdf_o, *len_o, *off_o, *lookup_o, *result = NULL;
    Py_ssize_t stride;
    unsigned precision;
    tables_arg t;
    int st;
    (void)self;
    if (!PyArg_ParseTuple(args, TABLES_FORMAT, &cdf_o, &stride, &len_o, &off_o, &precision, &lookup_o))
        return NULL;
    if (tables_acquire(&t, cdf_o, stride, len_o, off_o, precision, lookup_o) == 0) {
        st = fsr_tables_check(&t.view);
        if (st != FSR_OK)
            raise_status(st);
        else
            result = Py_NewRef(Py_None);
    }
    tables_release(&t);
    return result;
}

PyDoc_STRVAR(build_lookup_doc,
             "build_lookup(cdf, cdf_stride, cdf_length, offset, precision, None, out) -> None\n"
             "Fill out (uint16, num_cdfs * LOOKUP_STRIDE entries) with the decoder lookup.");

static PyObject *py_build_lookup(PyObject *self, PyObject *args)
{
    PyObject *cdf_o, *len_o, *off_o, *lookup_o, *out_o, *result = NULL;
    Py_ssize_t stride;
    unsigned precision;
    Py_buffer out;
    tables_arg t;
    int st;
    (void)self;
    if (!PyArg_ParseTuple(args, TABLES_FORMAT "O", &cdf_o, &stride, &len_o, &off_o, &precision, &lookup_o,
                          &out_o))
        return NULL;
    if (PyObject_GetBuffer(out_o, &out, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) != 0)
        return NULL;
    if (out.itemsize != 2) {
        PyErr_SetString(PyExc_TypeError, "out must be a uint16 buffer");
    } else if (tables_acquire(&t, cdf_o, stride, len_o, off_o, precision, Py_None) == 0) {
        st = fsr_lookup_build(&t.view, (uint16_t *)out.buf, (size_t)(out.len / 2));
        if (st != FSR_OK)
            raise_status(st);
        else
            result = Py_NewRef(Py_None);
        tables_release(&t);
    } else {
        tables_release(&t);
    }
    PyBuffer_Release(&out);
    (void)lookup_o;
    return result;
}

PyDoc_STRVAR(ilv2_build_doc,
             "ilv2_build(cdf, cdf_stride, cdf_length, offset, precision, None) -> (bytearray, sym_stride)\n"
             "The derived tables of the version 2 interleaved payload (14-bit requantization, slot lookup).");

static PyObject *py_ilv2_build(PyObject *self, PyObject *args)
{
    PyObject *cdf_o, *len_o, *off_o, *lookup_o, *buf = NULL, *result = NULL;
    Py_ssize_t stride;
    unsigned precision;
    tables_arg t;
    fsr_ilv2_tables q;
    size_t size;
    int st;
    (void)self;
    if (!PyArg_ParseTuple(args, TABLES_FORMAT, &cdf_o, &stride, &len_o, &off_o, &precision, &lookup_o))
        return NULL;
    if (tables_acquire(&t, cdf_o, stride, len_o, off_o, precision, Py_None) == 0) {
        size = fsr_ilv2_tables_size(&t.view);
        if (size == 0) {
            raise_status(FSR_ERR_TABLES);
        } else if ((buf = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)size)) != NULL) {
            st = fsr_ilv2_tables_build(&t.view, PyByteArray_AS_STRING(buf), size, &q);
            if (st != FSR_OK)
                raise_status(st);
            else
                result = Py_BuildValue("(OI)", buf, q.sym_stride);
            Py_DECREF(buf);
        }
    }
    tables_release(&t);
    return result;
}

/* The derived-tables arguments of ilv2 calls: (bytearray from ilv2_build, num_rows, sym_stride). */
static int ilv2_attach(Py_buffer *mem, unsigned rows, unsigned stride, fsr_ilv2_tables *q)
{
    if (fsr_ilv2_tables_attach(mem->buf, (size_t)mem->len, rows, stride, q) != FSR_OK) {
        PyErr_SetString(PyExc_ValueError, "derived tables do not match num_rows / sym_stride");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(ilv2_encode_planar_doc,
             "ilv2_encode_planar(symbols, num_planes, lanes, impl, derived, num_rows, sym_stride) -> bytes\n"
             "Interleaved payload version 2 (docs/formats.md section 5).");

static PyObject *py_ilv2_encode_planar(PyObject *self, PyObject *args)
{
    PyObject *sym_o, *out = NULL;
    Py_ssize_t planes;
    unsigned lanes, rows, stride;
    int impl, st;
    Py_buffer sym, mem;
    fsr_ilv2_tables q;
    uint8_t *buf;
    size_t cap, len = 0, n;
    (void)self;
    if (!PyArg_ParseTuple(args, "OnIiy*II", &sym_o, &planes, &lanes, &impl, &mem, &rows, &stride))
        return NULL;
    if (get_int32(sym_o, &sym, 0, "symbols") != 0) {
        PyBuffer_Release(&mem);
        return NULL;
    }
    if (ilv2_attach(&mem, rows, stride, &q) != 0)
        goto done;
    n = (size_t)(sym.len / 4);
    if (planes <= 0 || planes > UINT32_MAX || n % (size_t)planes != 0) {
        PyErr_SetString(PyExc_ValueError, "symbol count is not a multiple of num_planes");
        goto done;
    }
    if ((cap = fsr_ilv2_encode_bound(n, lanes)) == 0) {
        raise_status(FSR_ERR_ARGUMENT);
        goto done;
    }
    if ((buf = (uint8_t *)malloc(cap)) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS st = fsr_ilv2_encode_planar_with(
        impl, &q, lanes, (const int32_t *)sym.buf, (uint32_t)planes, n / (size_t)planes, buf, cap, &len);
    Py_END_ALLOW_THREADS out = bytes_from_encoder(st, buf, len);
done:
    PyBuffer_Release(&mem);
    PyBuffer_Release(&sym);
    return out;
}

PyDoc_STRVAR(ilv2_decode_planar_doc,
             "ilv2_decode_planar(data, num_planes, lanes, impl, derived, num_rows, sym_stride, out) -> None");

static PyObject *py_ilv2_decode_planar(PyObject *self, PyObject *args)
{
    PyObject *out_o, *result = NULL;
    Py_ssize_t planes;
    unsigned lanes, rows, stride;
    int impl, st;
    Py_buffer data, out, mem;
    fsr_ilv2_tables q;
    size_t n;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*nIiy*IIO", &data, &planes, &lanes, &impl, &mem, &rows, &stride, &out_o))
        return NULL;
    if (get_int32(out_o, &out, 1, "out") != 0) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&mem);
        return NULL;
    }
    if (ilv2_attach(&mem, rows, stride, &q) != 0)
        goto done;
    n = (size_t)(out.len / 4);
    if (planes <= 0 || planes > UINT32_MAX || n % (size_t)planes != 0) {
        PyErr_SetString(PyExc_ValueError, "out length is not a multiple of num_planes");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS st =
        fsr_ilv2_decode_planar_with(impl, &q, lanes, (uint32_t)planes, n / (size_t)planes,
                                    (const uint8_t *)data.buf, (size_t)data.len, (int32_t *)out.buf);
    Py_END_ALLOW_THREADS if (st != FSR_OK) raise_status(st);
    else result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&mem);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"ilv2_build", py_ilv2_build, METH_VARARGS, ilv2_build_doc},
    {"ilv2_encode_planar", py_ilv2_encode_planar, METH_VARARGS, ilv2_encode_planar_doc},
    {"ilv2_decode_planar", py_ilv2_decode_planar, METH_VARARGS, ilv2_decode_planar_doc},
    {"encode", py_encode, METH_VARARGS, encode_doc},
    {"encode_planar", py_encode_planar, METH_VARARGS, encode_planar_doc},
    {"decode", py_decode, METH_VARARGS, decode_doc},
    {"decode_planar", py_decode_planar, METH_VARARGS, decode_planar_doc},
    {"ilv_encode_planar", py_ilv_encode_planar, METH_VARARGS, ilv_encode_planar_doc},
    {"ilv_decode_planar", py_ilv_decode_planar, METH_VARARGS, ilv_decode_planar_doc},
    {"ilv_impls", py_ilv_impls, METH_NOARGS, ilv_impls_doc},
    {"fill_int32", py_fill_int32, METH_VARARGS, fill_int32_doc},
    {"content_key", py_content_key, METH_VARARGS, content_key_doc},
    {"check_tables", py_check_tables, METH_VARARGS, check_tables_doc},
    {"build_lookup", py_build_lookup, METH_VARARGS, build_lookup_doc},
    {"decoder_tables", py_decoder_tables, METH_VARARGS, decoder_tables_doc},
    {"encoder_tables", py_encoder_tables, METH_VARARGS, encoder_tables_doc},
    {"encode_planar_trusted", (PyCFunction)(void (*)(void))py_encode_planar_trusted, METH_FASTCALL,
     encode_planar_trusted_doc},
    {"content_key_snapshot", py_content_key_snapshot, METH_VARARGS, content_key_snapshot_doc},
    {"snapshot_matches", (PyCFunction)(void (*)(void))py_snapshot_matches, METH_FASTCALL,
     snapshot_matches_doc},
    {"decode_trusted", (PyCFunction)(void (*)(void))py_decode_trusted, METH_FASTCALL, decode_trusted_doc},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT,
                                    "_rans",
                                    "C99 rANS coder (runtimes/c), CompressAI-compatible.",
                                    -1,
                                    methods,
                                    NULL,
                                    NULL,
                                    NULL,
                                    NULL};

PyMODINIT_FUNC PyInit__rans(void)
{
    PyObject *m;
    if (PyType_Ready(&DecoderTablesType) != 0 || PyType_Ready(&EncoderTablesType) != 0 ||
        PyType_Ready(&SnapshotType) != 0)
        return NULL;
    m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "DecoderTables", (PyObject *)&DecoderTablesType) != 0 ||
        PyModule_AddObjectRef(m, "EncoderTables", (PyObject *)&EncoderTablesType) != 0) {
        Py_DECREF(m);
        return NULL;
    }
    RansError = PyErr_NewException("fsplit_mobile.codec._rans.Error", NULL, NULL);
    if (RansError == NULL || PyModule_AddObjectRef(m, "Error", RansError) != 0) {
        Py_DECREF(m);
        return NULL;
    }
#define ADD(name) PyModule_AddIntConstant(m, #name, name)
    if (ADD(FSR_ERR_ARGUMENT) || ADD(FSR_ERR_TABLES) || ADD(FSR_ERR_INDEX) || ADD(FSR_ERR_SYMBOL) ||
        ADD(FSR_ERR_BUFFER) || ADD(FSR_ERR_TRUNCATED) || ADD(FSR_ERR_CORRUPT) || ADD(FSR_ERR_FORMAT) ||
        ADD(FSR_ERR_MISMATCH) || ADD(FSR_ERR_CHECKSUM) || ADD(FSR_ERR_LIMIT)) {
        Py_DECREF(m);
        return NULL;
    }
#undef ADD
    if (PyModule_AddIntConstant(m, "LOOKUP_STRIDE", FSR_LOOKUP_STRIDE) != 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

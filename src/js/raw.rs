//! A thin, checked wrapper over the Node-API calls the conversions use.
//!
//! Building results value by value through raw Node-API is the cheapest way to hand many values
//! to JS; this wrapper keeps the `unsafe` and the status checks in one place.

use std::ffi::c_void;
use std::ptr;

use napi::{check_status, sys, Result};

/// A Node-API environment, valid for the duration of one call from JS.
#[derive(Clone, Copy)]
pub struct RawEnv(pub sys::napi_env);

pub type RawValue = sys::napi_value;

macro_rules! make {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {{
        let mut out = ptr::null_mut();
        // SAFETY: `self.0` is the env of the current call, and `out` is a valid out-pointer.
        check_status!(unsafe { sys::$f($self.0, $($arg,)* &mut out) })?;
        Ok(out)
    }};
}

impl RawEnv {
    pub fn object(self) -> Result<RawValue> {
        make!(self, napi_create_object())
    }
    pub fn array(self, len: usize) -> Result<RawValue> {
        make!(self, napi_create_array_with_length(len))
    }
    pub fn string(self, s: &str) -> Result<RawValue> {
        make!(
            self,
            napi_create_string_utf8(s.as_ptr().cast(), s.len() as isize)
        )
    }
    pub fn number(self, n: f64) -> Result<RawValue> {
        make!(self, napi_create_double(n))
    }
    pub fn boolean(self, b: bool) -> Result<RawValue> {
        make!(self, napi_get_boolean(b))
    }
    pub fn null(self) -> Result<RawValue> {
        make!(self, napi_get_null())
    }
    pub fn undefined(self) -> Result<RawValue> {
        make!(self, napi_get_undefined())
    }
    pub fn date(self, ms: f64) -> Result<RawValue> {
        make!(self, napi_create_date(ms))
    }
    pub fn buffer(self, bytes: &[u8]) -> Result<RawValue> {
        let mut data: *mut c_void = ptr::null_mut();
        make!(
            self,
            napi_create_buffer_copy(bytes.len(), bytes.as_ptr().cast(), &mut data)
        )
    }
    /// A one-byte string from Latin-1 bytes (ASCII text: no UTF-8 decoding).
    pub fn string_latin1(self, bytes: &[u8]) -> Result<RawValue> {
        make!(
            self,
            napi_create_string_latin1(bytes.as_ptr().cast(), bytes.len() as isize)
        )
    }
    pub fn f64_array(self, values: &[f64]) -> Result<RawValue> {
        self.typed_array(values, sys::TypedarrayType::float64_array)
    }
    pub fn u32_array(self, values: &[u32]) -> Result<RawValue> {
        self.typed_array(values, sys::TypedarrayType::uint32_array)
    }
    pub fn u8_array(self, values: &[u8]) -> Result<RawValue> {
        self.typed_array(values, sys::TypedarrayType::uint8_array)
    }
    /// A typed array of `kind` holding a copy of `values` (in an ArrayBuffer of V8's own, not an
    /// external one: those are refused where the V8 sandbox is on).
    fn typed_array<T: Copy>(
        self,
        values: &[T],
        kind: sys::napi_typedarray_type,
    ) -> Result<RawValue> {
        let bytes = std::mem::size_of_val(values);
        let mut data: *mut c_void = ptr::null_mut();
        let buffer: Result<RawValue> = make!(self, napi_create_arraybuffer(bytes, &mut data));
        let buffer = buffer?;
        if bytes > 0 {
            // SAFETY: `data` points to `bytes` fresh bytes of the new ArrayBuffer.
            unsafe {
                ptr::copy_nonoverlapping(values.as_ptr().cast::<u8>(), data.cast::<u8>(), bytes)
            };
        }
        make!(self, napi_create_typedarray(kind, values.len(), buffer, 0))
    }
    /// `new Error(message)`, or `new TypeError(message)`.
    pub fn error(self, message: &str, type_error: bool) -> Result<RawValue> {
        let message = self.string(message)?;
        if type_error {
            make!(self, napi_create_type_error(ptr::null_mut(), message))
        } else {
            make!(self, napi_create_error(ptr::null_mut(), message))
        }
    }

    pub fn set(self, object: RawValue, key: &str, value: RawValue) -> Result<()> {
        let key = self.string(key)?;
        self.set_keyed(object, key, value)
    }
    /// Sets a property whose key string was made once for many objects.
    pub fn set_keyed(self, object: RawValue, key: RawValue, value: RawValue) -> Result<()> {
        // SAFETY: all three handles belong to the current call's scope.
        check_status!(unsafe { sys::napi_set_property(self.0, object, key, value) })
    }
    pub fn set_element(self, array: RawValue, index: u32, value: RawValue) -> Result<()> {
        // SAFETY: as above.
        check_status!(unsafe { sys::napi_set_element(self.0, array, index, value) })
    }
    pub fn set_str(self, object: RawValue, key: &str, value: &str) -> Result<()> {
        self.set(object, key, self.string(value)?)
    }
    pub fn set_opt_str(self, object: RawValue, key: &str, value: Option<&str>) -> Result<()> {
        let value = match value {
            Some(v) => self.string(v)?,
            None => self.undefined()?,
        };
        self.set(object, key, value)
    }
    pub fn set_opt_str_or_null(
        self,
        object: RawValue,
        key: &str,
        value: Option<&str>,
    ) -> Result<()> {
        let value = match value {
            Some(v) => self.string(v)?,
            None => self.null()?,
        };
        self.set(object, key, value)
    }
    pub fn set_number(self, object: RawValue, key: &str, value: f64) -> Result<()> {
        self.set(object, key, self.number(value)?)
    }
    pub fn set_opt_number(self, object: RawValue, key: &str, value: Option<f64>) -> Result<()> {
        let value = match value {
            Some(v) => self.number(v)?,
            None => self.null()?,
        };
        self.set(object, key, value)
    }

    pub fn type_of(self, value: RawValue) -> Result<sys::napi_valuetype> {
        let mut out = 0;
        // SAFETY: `value` belongs to the current call's scope.
        check_status!(unsafe { sys::napi_typeof(self.0, value, &mut out) })?;
        Ok(out)
    }
    pub fn is_buffer(self, value: RawValue) -> Result<bool> {
        let mut out = false;
        // SAFETY: as above.
        check_status!(unsafe { sys::napi_is_buffer(self.0, value, &mut out) })?;
        Ok(out)
    }
    pub fn is_array(self, value: RawValue) -> Result<bool> {
        let mut out = false;
        // SAFETY: as above.
        check_status!(unsafe { sys::napi_is_array(self.0, value, &mut out) })?;
        Ok(out)
    }
    pub fn buffer_bytes(self, value: RawValue) -> Result<Vec<u8>> {
        let mut data: *mut c_void = ptr::null_mut();
        let mut len = 0usize;
        // SAFETY: `value` is a Buffer (checked by the caller); its bytes are copied at once.
        check_status!(unsafe { sys::napi_get_buffer_info(self.0, value, &mut data, &mut len) })?;
        if len == 0 {
            return Ok(Vec::new());
        }
        Ok(unsafe { std::slice::from_raw_parts(data as *const u8, len) }.to_vec())
    }
    pub fn get_string(self, value: RawValue) -> Result<String> {
        // SAFETY: `value` is a string (checked by the caller).
        unsafe { <String as napi::bindgen_prelude::FromNapiValue>::from_napi_value(self.0, value) }
    }
    pub fn get_number(self, value: RawValue) -> Result<f64> {
        let mut out = 0f64;
        // SAFETY: `value` is a number (checked by the caller).
        check_status!(unsafe { sys::napi_get_value_double(self.0, value, &mut out) })?;
        Ok(out)
    }
    pub fn get_bool(self, value: RawValue) -> Result<bool> {
        let mut out = false;
        // SAFETY: `value` is a boolean (checked by the caller).
        check_status!(unsafe { sys::napi_get_value_bool(self.0, value, &mut out) })?;
        Ok(out)
    }
    pub fn property_names(self, object: RawValue) -> Result<RawValue> {
        make!(self, napi_get_property_names(object))
    }
    pub fn array_len(self, array: RawValue) -> Result<u32> {
        let mut out = 0u32;
        // SAFETY: `array` is an array.
        check_status!(unsafe { sys::napi_get_array_length(self.0, array, &mut out) })?;
        Ok(out)
    }
    pub fn element(self, array: RawValue, index: u32) -> Result<RawValue> {
        make!(self, napi_get_element(array, index))
    }
    pub fn property(self, object: RawValue, key: RawValue) -> Result<RawValue> {
        make!(self, napi_get_property(object, key))
    }
}

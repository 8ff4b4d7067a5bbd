#![deny(warnings)]

use std::fmt;

use mackerel_trace::traced;

#[traced]
fn unit() {}

#[traced(name = "renamed", kind = server, root, ret)]
fn all_options(a: u8) -> u8 {
    a
}

#[traced(record(a, %b, ?c, key.path = a + 1, text = %c.len(), constant = "x"))]
fn records(a: u8, b: &str, c: &[u8]) -> usize {
    usize::from(a) + b.len() + c.len()
}

#[traced(ret(%))]
fn ret_display() -> String {
    String::new()
}

#[traced(ret(?))]
fn ret_debug() -> Result<Vec<u8>, fmt::Error> {
    Ok(vec![])
}

#[traced]
fn early_return_and_question_mark(s: &str) -> Result<u32, std::num::ParseIntError> {
    if s.is_empty() {
        return Ok(0);
    }
    let n: u32 = s.parse()?;
    Ok(n)
}

#[traced]
fn borrows<'a>(v: &'a mut Vec<u8>, _other: &str) -> &'a mut u8 {
    v.push(0);
    &mut v[0]
}

#[traced]
fn generic<T: Clone, const N: usize>(items: [T; N]) -> Vec<T>
where
    T: fmt::Debug,
{
    items.to_vec()
}

#[traced]
fn impl_trait(it: impl Iterator<Item = u8>) -> impl Iterator<Item = u8> {
    it.map(|x| x + 1)
}

#[traced]
fn destructured((a, b): (u8, u8), Point { x, .. }: Point) -> u8 {
    a + b + x
}

struct Point {
    x: u8,
    y: u8,
}

/// Documented.
#[traced]
#[must_use]
#[inline]
pub fn attributes_kept() -> u8 {
    1
}

/// # Safety
/// Reads `p`.
#[traced]
pub unsafe fn unsafe_fn(p: *const u8) -> u8 {
    unsafe { *p }
}

#[traced]
pub extern "C" fn extern_fn() -> u8 {
    1
}

#[traced]
#[track_caller]
fn track_caller(v: Option<u8>) -> Option<u8> {
    let v = v?;
    if v == 0 {
        return None;
    }
    Some(v)
}

#[traced]
fn never() -> ! {
    std::process::exit(0)
}

fn main() {
    unit();
    let _ = all_options(1);
    let _ = records(1, "", &[]);
    let _ = ret_display();
    let _ = ret_debug();
    let _ = early_return_and_question_mark("1");
    let _ = borrows(&mut vec![], "");
    let _ = generic([1, 2]);
    let _ = impl_trait([1].into_iter()).count();
    let _ = destructured((1, 2), Point { x: 1, y: 2 });
    let _ = Point { x: 0, y: 0 }.y;
    let _ = attributes_kept();
    let _ = unsafe { unsafe_fn(&1) };
    let _ = extern_fn();
    let _ = track_caller(Some(1));
    if false {
        never();
    }
}

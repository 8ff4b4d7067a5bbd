#![deny(warnings)]
#![allow(dead_code)]

use mackerel_trace::traced;

struct Result;
struct Option;
struct Box;
struct Ok;
struct Err;
struct Some;
struct None;
struct Vec;
struct String;
mod core {}

#[traced(record(n), ret)]
fn shadowed(n: u8) -> ::std::result::Result<u8, ::std::io::Error> {
    ::std::result::Result::Ok(n)
}

#[traced]
async fn shadowed_async(n: u8) -> ::std::option::Option<u8> {
    ::std::option::Option::Some(n)
}

#[traced]
#[track_caller]
fn shadowed_track_caller(n: u8) -> ::std::option::Option<u8> {
    let v = ::std::option::Option::Some(n)?;
    ::std::option::Option::Some(v)
}

fn main() {
    let _ = shadowed(1);
    let _ = shadowed_async(1);
    let _ = shadowed_track_caller(1);
}

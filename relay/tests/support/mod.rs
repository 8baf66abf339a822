#![allow(dead_code)] // each test binary uses a part

pub mod icon;
pub mod node;

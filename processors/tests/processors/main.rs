//! Integration tests of the processors (filled in below).

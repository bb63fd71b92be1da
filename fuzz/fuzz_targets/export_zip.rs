//! An export zip, read whole and streamed: must never panic, and both ways must agree.
#![no_main]

use std::io::Cursor;

use exposure::export;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = export::read_zip(data);
    let streamed = export::ExportArchive::new(Cursor::new(data)).and_then(|mut archive| {
        let mut stream = archive.stream_keys()?;
        let keys = stream.by_ref().collect::<Result<Vec<_>, _>>()?;
        let finished = stream.finish()?;
        Ok((keys, finished))
    });
    match (whole, streamed) {
        (Ok(whole), Ok((keys, finished))) => {
            assert_eq!(whole.batch.keys, keys);
            assert_eq!(whole.export_bin_sha256, finished.export_bin_sha256);
            assert_eq!(whole.batch.region, finished.metadata.region);
        }
        (Err(_), Err(_)) => {}
        (whole, streamed) => panic!(
            "whole and streamed reads disagree: {:?} vs {:?}",
            whole.err(),
            streamed.err()
        ),
    }
});

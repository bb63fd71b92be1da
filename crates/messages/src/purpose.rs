/// What an upload token is spent on. A token is used at most once per purpose (table
/// `token_uses`); the string is what the database stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// `POST /v2/gaen/exposed`: the diagnosis keys of a positive test.
    Keys,
    /// `POST /v1/gaen/exposednextday`: the key of the upload's day, sent the day after.
    NextDayKeys,
    /// `POST /v1/checkins`: the visits of a positive test.
    CheckIns,
    /// `POST /v1/venues/warnings`: a venue owner's warning on behalf of a venue.
    VenueWarning,
}

impl Purpose {
    /// Every purpose, in a fixed order (statistics list them so).
    pub const ALL: [Purpose; 4] = [
        Purpose::Keys,
        Purpose::NextDayKeys,
        Purpose::CheckIns,
        Purpose::VenueWarning,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Keys => "exposed",
            Purpose::NextDayKeys => "exposednextday",
            Purpose::CheckIns => "checkins",
            Purpose::VenueWarning => "venue-warning",
        }
    }

    /// The purpose a stored name stands for.
    pub fn from_stored(name: &str) -> Option<Purpose> {
        Purpose::ALL
            .into_iter()
            .find(|purpose| purpose.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_name_reads_back_as_its_purpose() {
        for purpose in Purpose::ALL {
            assert_eq!(Purpose::from_stored(purpose.as_str()), Some(purpose));
        }
        assert_eq!(Purpose::from_stored("upload"), None);
    }
}

//! The kinds of venue a QR code can describe (CWA `TraceLocationType`).

use std::fmt;

/// CWA's `TraceLocationType`. Permanent places have no time window; events (temporary
/// types) have one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum VenueType {
    Unspecified = 0,
    PermanentOther = 1,
    TemporaryOther = 2,
    Retail = 3,
    FoodService = 4,
    Craft = 5,
    Workplace = 6,
    EducationalInstitution = 7,
    PublicBuilding = 8,
    CulturalEvent = 9,
    ClubActivity = 10,
    PrivateEvent = 11,
    WorshipService = 12,
}

impl VenueType {
    /// Every type, in wire order.
    pub const ALL: [VenueType; 13] = [
        VenueType::Unspecified,
        VenueType::PermanentOther,
        VenueType::TemporaryOther,
        VenueType::Retail,
        VenueType::FoodService,
        VenueType::Craft,
        VenueType::Workplace,
        VenueType::EducationalInstitution,
        VenueType::PublicBuilding,
        VenueType::CulturalEvent,
        VenueType::ClubActivity,
        VenueType::PrivateEvent,
        VenueType::WorshipService,
    ];

    /// The type with this wire value, `None` outside 0–12.
    pub fn from_wire(value: i64) -> Option<Self> {
        usize::try_from(value)
            .ok()
            .and_then(|index| Self::ALL.get(index).copied())
    }

    /// The value on the wire (the `type` field of `CWALocationData`).
    pub fn wire_value(self) -> u8 {
        self as u8
    }

    /// Events (temporary types) have a start and an end; places do not.
    pub fn is_temporary(self) -> bool {
        matches!(
            self,
            VenueType::TemporaryOther
                | VenueType::CulturalEvent
                | VenueType::ClubActivity
                | VenueType::PrivateEvent
                | VenueType::WorshipService
        )
    }

    /// A short English name, as a venue owner would say it.
    pub fn name(self) -> &'static str {
        match self {
            VenueType::Unspecified => "unspecified",
            VenueType::PermanentOther => "other place",
            VenueType::TemporaryOther => "other event",
            VenueType::Retail => "retail",
            VenueType::FoodService => "food service",
            VenueType::Craft => "craft",
            VenueType::Workplace => "workplace",
            VenueType::EducationalInstitution => "educational institution",
            VenueType::PublicBuilding => "public building",
            VenueType::CulturalEvent => "cultural event",
            VenueType::ClubActivity => "club activity",
            VenueType::PrivateEvent => "private event",
            VenueType::WorshipService => "worship service",
        }
    }
}

impl fmt::Display for VenueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip_and_stop_at_twelve() {
        for (index, venue_type) in VenueType::ALL.iter().enumerate() {
            assert_eq!(usize::from(venue_type.wire_value()), index);
            assert_eq!(VenueType::from_wire(index as i64), Some(*venue_type));
        }
        assert_eq!(VenueType::from_wire(13), None);
        assert_eq!(VenueType::from_wire(-1), None);
    }

    #[test]
    fn events_are_the_temporary_types() {
        let temporary: Vec<u8> = VenueType::ALL
            .iter()
            .filter(|t| t.is_temporary())
            .map(|t| t.wire_value())
            .collect();
        assert_eq!(temporary, vec![2, 9, 10, 11, 12]);
    }
}

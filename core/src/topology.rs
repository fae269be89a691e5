//! Who takes the writes now: a pure decision over what the latest checks saw of every member.
//!
//! Roles are discovered, not configured. A member whose latest check reached it and found it
//! out of recovery claims to be primary. One claimant takes the writes. Two or more (split
//! brain, or the moment before an old primary demotes itself) are decided by timeline: the
//! higher one wins, since a promotion always starts a new timeline; those on a lower timeline
//! are fenced, neither written nor read, until a check finds them standbys. Claimants on the
//! winner's timeline are the same server reached by two names (a `-ro` Service that still
//! points at a just-promoted instance): they are not fenced, and take no writes either.

use crate::health::Role;

/// What the latest check of one member saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sighting {
    /// The latest check reached the server.
    pub reachable: bool,
    /// What it said it is (`None` before any check reached it).
    pub role: Option<Role>,
    /// The timeline a primary writes on.
    pub timeline: Option<u32>,
}

impl Sighting {
    fn claims_primary(&self) -> bool {
        self.reachable && self.role == Some(Role::Primary)
    }
}

/// The outcome: the member that takes the writes, and the claimants on a lower timeline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Election {
    pub writer: Option<usize>,
    pub fenced: Vec<usize>,
}

/// Elects the writer among `members`. Among claimants on the same timeline the current writer
/// keeps the writes (no flapping), else the first in configuration order (the configured
/// primary comes first).
pub fn elect(members: &[Sighting], current: Option<usize>) -> Election {
    let claimants: Vec<usize> = (0..members.len())
        .filter(|&i| members[i].claims_primary())
        .collect();
    let timeline = |i: usize| members[i].timeline.unwrap_or(0);
    let Some(top) = claimants.iter().map(|&i| timeline(i)).max() else {
        return Election::default();
    };
    let writer = current
        .filter(|c| claimants.contains(c) && timeline(*c) == top)
        .or_else(|| claimants.iter().copied().find(|&i| timeline(i) == top));
    Election {
        writer,
        fenced: claimants
            .into_iter()
            .filter(|&i| timeline(i) < top)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn primary(timeline: u32) -> Sighting {
        Sighting {
            reachable: true,
            role: Some(Role::Primary),
            timeline: Some(timeline),
        }
    }

    fn standby() -> Sighting {
        Sighting {
            reachable: true,
            role: Some(Role::Replica),
            timeline: None,
        }
    }

    fn down(role: Role) -> Sighting {
        Sighting {
            reachable: false,
            role: Some(role),
            timeline: Some(9),
        }
    }

    /// The one member out of recovery takes the writes, wherever it stands in the config.
    #[test]
    fn the_one_primary_writes() {
        let e = elect(&[primary(1), standby(), standby()], None);
        assert_eq!(
            e,
            Election {
                writer: Some(0),
                fenced: vec![]
            }
        );
        let promoted = elect(&[standby(), standby(), primary(2)], Some(0));
        assert_eq!(promoted.writer, Some(2));
    }

    /// No reachable member out of recovery: nobody writes (writes wait for the next primary).
    #[test]
    fn no_primary() {
        assert_eq!(
            elect(&[down(Role::Primary), standby()], Some(0)),
            Election::default()
        );
        assert_eq!(elect(&[], None), Election::default());
        let never_reached = Sighting::default();
        assert_eq!(elect(&[never_reached, standby()], None).writer, None);
    }

    /// Two claimants: the higher timeline writes, the other is fenced.
    #[test]
    fn split_brain_goes_to_the_higher_timeline() {
        let e = elect(&[primary(1), primary(2), standby()], Some(0));
        assert_eq!(
            e,
            Election {
                writer: Some(1),
                fenced: vec![0]
            }
        );
        let e = elect(&[primary(3), standby(), primary(2)], None);
        assert_eq!(
            e,
            Election {
                writer: Some(0),
                fenced: vec![2]
            }
        );
    }

    /// On the same timeline (one server behind two names) the current writer keeps the writes,
    /// without one the first in config order; nobody is fenced.
    #[test]
    fn ties_keep_the_current_writer() {
        assert_eq!(
            elect(&[primary(2), primary(2)], Some(1)),
            Election {
                writer: Some(1),
                fenced: vec![]
            }
        );
        assert_eq!(elect(&[primary(2), primary(2)], None).writer, Some(0));
        // A current writer on a lower timeline loses all the same.
        assert_eq!(elect(&[primary(2), primary(1)], Some(1)).writer, Some(0));
    }
}

//! Who may come in, and from where: which way a user must sign in ([`routing`]), which address a
//! request really came from ([`client_ip`]), and how failed sign-ins are slowed down ([`throttle`]).

pub mod client_ip;
pub mod routing;
pub mod throttle;

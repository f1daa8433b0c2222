namespace CoapEnroll.Coap;

/// <summary>How the server transmits observe notifications (RFC 7641 §4.5).</summary>
public sealed class CoapObserveOptions
{
    /// <summary>
    /// The longest time an observer goes without a confirmable notification: once it has passed since
    /// the registration or the last acknowledged confirmable notification, the next notification is
    /// sent confirmable. RFC 7641 §4.5 requires at least one every 24 hours, the default; zero makes
    /// every notification confirmable.
    /// </summary>
    public TimeSpan ConfirmableInterval { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// The least time between two non-confirmable notifications to one observer. RFC 7641 §4.5.1: a
    /// server without an RTT estimate SHOULD NOT send more than one every 3 seconds, the default.
    /// State changes in between are coalesced: only the newest state is sent once the time is up.
    /// </summary>
    public TimeSpan MinNonConfirmableInterval { get; set; } = TimeSpan.FromSeconds(3);
}

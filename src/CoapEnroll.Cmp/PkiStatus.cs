namespace CoapEnroll.Cmp;

/// <summary>PKIStatus (RFC 9810 §5.2.3): the status values of a <see cref="PkiStatusInfo"/>.</summary>
public enum PkiStatus
{
    /// <summary>The request was granted as asked.</summary>
    Accepted = 0,

    /// <summary>Granted with modifications the requester should check.</summary>
    GrantedWithMods = 1,

    /// <summary>Refused; failInfo says why.</summary>
    Rejection = 2,

    /// <summary>Not decided yet: poll (pollReq) for the answer.</summary>
    Waiting = 3,

    /// <summary>A revocation is imminent.</summary>
    RevocationWarning = 4,

    /// <summary>A revocation has happened.</summary>
    RevocationNotification = 5,

    /// <summary>The key update has been done already.</summary>
    KeyUpdateWarning = 6,
}

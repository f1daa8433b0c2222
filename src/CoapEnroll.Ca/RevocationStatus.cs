namespace CoapEnroll.Ca;

/// <summary>What a revocation did.</summary>
public enum RevocationStatus
{
    /// <summary>The certificate was revoked now.</summary>
    Revoked,

    /// <summary>The certificate had been revoked before; its first revocation (reason, time) stands.</summary>
    AlreadyRevoked,

    /// <summary>No certificate of this CA has the serial number.</summary>
    UnknownCertificate,
}

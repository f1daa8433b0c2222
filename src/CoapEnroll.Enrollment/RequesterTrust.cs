namespace CoapEnroll.Enrollment;

/// <summary>What a requester's certificate chains to, as the <see cref="EnrollmentTrustPolicy"/> found it, or that it holds a shared secret.</summary>
public enum RequesterTrust
{
    /// <summary>A certificate of a trusted manufacturer CA (an IDevID, RFC 9148 §3): may enroll, not re-enroll.</summary>
    Manufacturer,

    /// <summary>A current (active: neither revoked nor superseded) certificate this CA issued: may enroll and re-enroll.</summary>
    ThisCa,

    /// <summary>
    /// The holder of a configured shared secret (CMP MAC protection): no certificate; may enroll (not re-enroll) for the names and
    /// profile its <see cref="SharedSecretGrant"/> allows.
    /// </summary>
    SharedSecret,
}

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

    /// <summary>
    /// A registrar (RFC 7030 §3.7): a client certificate with extendedKeyUsage id-kp-cmcRA (RFC 6402 §2.10) from an active
    /// certificate of this CA (unless <see cref="EnrollmentOptions.TrustRegistrarsOfThisCa"/> is off) or from a trusted registrar CA
    /// (<see cref="Ca.CaHierarchy.TrustedRegistrarCas"/>), over a secure channel. It submits requests for devices it authenticated:
    /// the names are the device's, not the registrar's, and the registrar vouches for the proof-of-possession link.
    /// </summary>
    Registrar,
}

namespace CoapEnroll.Enrollment;

/// <summary>What a requester's certificate chains to, as the <see cref="EnrollmentTrustPolicy"/> found it.</summary>
public enum RequesterTrust
{
    /// <summary>A certificate of a trusted manufacturer CA (an IDevID, RFC 9148 §3): may enroll, not re-enroll.</summary>
    Manufacturer,

    /// <summary>A current (active: neither revoked nor superseded) certificate this CA issued: may enroll and re-enroll.</summary>
    ThisCa,
}

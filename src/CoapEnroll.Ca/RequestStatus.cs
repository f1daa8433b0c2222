namespace CoapEnroll.Ca;

/// <summary>State of a stored certification request.</summary>
public enum RequestStatus
{
    /// <summary>Waiting for an operator's approval.</summary>
    Pending,

    /// <summary>A certificate was issued for it.</summary>
    Issued,

    /// <summary>Refused: by an operator, by the CA's policy, or by the protocol front-end (see <see cref="RejectionReason"/>).</summary>
    Rejected,
}

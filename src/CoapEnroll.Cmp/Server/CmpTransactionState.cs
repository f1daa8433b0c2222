namespace CoapEnroll.Cmp;

/// <summary>Where an open CMP transaction stands.</summary>
internal enum CmpTransactionState
{
    /// <summary>A certificate was issued (and stored) and waits for certConf; revoked when none comes in time.</summary>
    AwaitingConfirmation,

    /// <summary>The request waits for an operator; the requester polls (pollReq).</summary>
    Pending,
}

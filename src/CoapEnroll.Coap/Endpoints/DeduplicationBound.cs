namespace CoapEnroll.Coap;

/// <summary>Which bound of duplicate detection made room for a new message.</summary>
internal enum DeduplicationBound
{
    /// <summary>None: the message fit.</summary>
    None,

    /// <summary>The sending peer had as many entries as one peer may have; its own oldest was forgotten.</summary>
    Peer,

    /// <summary>All peers together had as many entries as the cache may hold; the least recently active peers were forgotten.</summary>
    Global,
}

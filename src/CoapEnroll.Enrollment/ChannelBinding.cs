namespace CoapEnroll.Enrollment;

/// <summary>
/// A value unique to the secure channel the request came over, for linking the proof of possession to the authenticated
/// identity (RFC 7030 §3.5, RFC 5929). A binding the channel cannot make unique is still described, so that the refusal can say
/// why: tls-unique over (D)TLS 1.2 without the extended master secret can be made equal for two sessions (RFC 7627 §6.1).
/// </summary>
public sealed class ChannelBinding
{
    private readonly byte[]? _value;

    private ChannelBinding(string type, string channel, byte[]? value, string? notUniqueReason = null)
    {
        Type = type;
        Channel = channel;
        _value = value;
        NotUniqueReason = notUniqueReason;
    }

    /// <summary>The channel binding type (RFC 5929): "tls-unique".</summary>
    public string Type { get; }

    /// <summary>The channel as the requester would name it in a message: "DTLS", "TLS".</summary>
    public string Channel { get; }

    /// <summary>True when the value is unique to this channel and may link a proof of possession to it.</summary>
    public bool IsUnique => _value is not null;

    /// <summary>
    /// Why the binding links nothing, in words for the requester, when the channel said so (<see cref="NotUnique"/>); null otherwise
    /// (then a non-unique tls-unique is the (D)TLS 1.2 session without the extended master secret).
    /// </summary>
    public string? NotUniqueReason { get; }

    /// <summary>The binding value; empty when <see cref="IsUnique"/> is false.</summary>
    public ReadOnlyMemory<byte> Value => _value;

    /// <summary>tls-unique (RFC 5929 §3: the first Finished message of the handshake) of a session with the extended master secret.</summary>
    public static ChannelBinding TlsUnique(string channel, ReadOnlySpan<byte> value)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        return new ChannelBinding("tls-unique", channel, value.ToArray());
    }

    /// <summary>tls-unique of a session without the extended master secret (RFC 7627 §6.1): present, but it links nothing.</summary>
    public static ChannelBinding NonUniqueTlsUnique(string channel)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        return new ChannelBinding("tls-unique", channel, null);
    }

    /// <summary>
    /// A binding of <paramref name="type"/> the channel cannot provide uniquely, for the reason the front end states (e.g. tls-unique
    /// over TLS 1.3, for which RFC 5929 defines nothing and RFC 9266 defines tls-exporter instead): present, but it links nothing.
    /// </summary>
    public static ChannelBinding NotUnique(string type, string channel, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new ChannelBinding(type, channel, null, reason);
    }
}

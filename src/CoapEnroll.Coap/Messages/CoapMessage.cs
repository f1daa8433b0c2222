using System.Text;

namespace CoapEnroll.Coap;

/// <summary>
/// An immutable CoAP message (RFC 7252 §3). Derive changed copies with <c>with</c> and the
/// <c>With…</c> helpers; nothing mutates a message once built, so layers can share it freely.
/// </summary>
public sealed record CoapMessage
{
    /// <summary>The longest token (RFC 7252 §3: TKL 9–15 are reserved).</summary>
    public const int MaxTokenLength = 8;

    private readonly ReadOnlyMemory<byte> _token;

    private readonly CoapMessageType _type = CoapMessageType.Confirmable;

    /// <summary>The message type; only the four values of the 2-bit T field (RFC 7252 §3) are accepted.</summary>
    public CoapMessageType Type
    {
        get => _type;
        init
        {
            // The encoder shifts the type into bits 4-5; a larger value would overwrite the version bits.
            ArgumentOutOfRangeException.ThrowIfGreaterThan((int)value, (int)CoapMessageType.Reset, nameof(Type));
            _type = value;
        }
    }

    public CoapCode Code { get; init; }

    public ushort MessageId { get; init; }

    public ReadOnlyMemory<byte> Token
    {
        get => _token;
        init
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value.Length, MaxTokenLength, nameof(Token));
            _token = value;
        }
    }

    public CoapOptionCollection Options { get; init; } = CoapOptionCollection.Empty;

    public ReadOnlyMemory<byte> Payload { get; init; }

    public bool IsRequest => Code.IsRequest;

    public bool IsResponse => Code.IsResponse;

    /// <summary>Code 0.00: an empty ACK, an RST, or a CoAP ping (RFC 7252 §4.1).</summary>
    public bool IsEmpty => Code.IsEmpty;

    public static CoapMessage CreateRequest(CoapCode method, string path = "", CoapMessageType type = CoapMessageType.Confirmable)
    {
        var message = new CoapMessage { Type = type, Code = method };
        return string.IsNullOrEmpty(path) ? message : message.WithUriPath(path);
    }

    public static CoapMessage CreateEmpty(CoapMessageType type, ushort messageId) => new() { Type = type, Code = CoapCode.Empty, MessageId = messageId };

    // ---- options ----------------------------------------------------------------------------

    public CoapMessage WithOption(CoapOption option) => this with { Options = Options.Add(option) };

    public CoapMessage SetOption(CoapOption option) => this with { Options = Options.Set(option) };

    public CoapMessage WithoutOption(int number) => this with { Options = Options.Remove(number) };

    public CoapMessage SetUInt(int number, uint value) => SetOption(CoapOption.FromUInt(number, value));

    public uint? GetUInt(int number) => Options.TryGet(number, out var o) && o.TryGetUInt(out uint v) ? v : null;

    public string? GetString(int number) => Options.TryGet(number, out var o) ? o.GetString() : null;

    public IEnumerable<string> GetStrings(int number) => Options.GetStrings(number);

    /// <summary>The Uri-Path segments, unescaped. Decoded once per set of options and then shared: the list is read-only.</summary>
    public IReadOnlyList<string> UriPathSegments => Options.UriPathSegments;

    /// <summary>The Uri-Path joined with '/', without a leading slash ("" for the root).</summary>
    public string UriPath => string.Join('/', Options.UriPathSegments);

    public IReadOnlyList<string> UriQuery => Options.GetStrings(CoapOptionNumber.UriQuery);

    public IReadOnlyList<string> LocationPath => Options.GetStrings(CoapOptionNumber.LocationPath);

    /// <summary>Replaces the Uri-Path with the segments of <paramref name="path"/> ("/a/b" or "a/b").</summary>
    public CoapMessage WithUriPath(string path)
    {
        var options = Options.Remove(CoapOptionNumber.UriPath);
        foreach (string segment in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            options = options.Add(CoapOption.FromString(CoapOptionNumber.UriPath, segment));
        }

        return this with { Options = options };
    }

    public CoapMessage WithUriQuery(string query) => WithOption(CoapOption.FromString(CoapOptionNumber.UriQuery, query));

    public int? ContentFormat => (int?)GetUInt(CoapOptionNumber.ContentFormat);

    public int? Accept => (int?)GetUInt(CoapOptionNumber.Accept);

    public uint? MaxAge => GetUInt(CoapOptionNumber.MaxAge);

    public uint? Observe => GetUInt(CoapOptionNumber.Observe);

    public uint? Size1 => GetUInt(CoapOptionNumber.Size1);

    public uint? Size2 => GetUInt(CoapOptionNumber.Size2);

    public BlockOption? Block1 => GetBlock(CoapOptionNumber.Block1);

    public BlockOption? Block2 => GetBlock(CoapOptionNumber.Block2);

    // The casts matter: a bare null converts to an empty ReadOnlyMemory (through byte[]), not to a null Nullable.
    public ReadOnlyMemory<byte>? ETag => Options.TryGet(CoapOptionNumber.ETag, out var o) ? o.Value : (ReadOnlyMemory<byte>?)null;

    public ReadOnlyMemory<byte>? RequestTag => Options.TryGet(CoapOptionNumber.RequestTag, out var o) ? o.Value : (ReadOnlyMemory<byte>?)null;

    public CoapMessage WithContentFormat(int contentFormat) => SetUInt(CoapOptionNumber.ContentFormat, (uint)contentFormat);

    public CoapMessage WithAccept(int contentFormat) => SetUInt(CoapOptionNumber.Accept, (uint)contentFormat);

    public CoapMessage WithBlock1(BlockOption block) => SetOption(block.ToOption(CoapOptionNumber.Block1));

    public CoapMessage WithBlock2(BlockOption block) => SetOption(block.ToOption(CoapOptionNumber.Block2));

    public CoapMessage WithPayload(ReadOnlyMemory<byte> payload) => this with { Payload = payload };

    public CoapMessage WithPayload(string text) => this with { Payload = Encoding.UTF8.GetBytes(text) };

    /// <summary>The payload decoded as UTF-8.</summary>
    public string PayloadText => Encoding.UTF8.GetString(Payload.Span);

    private BlockOption? GetBlock(int number)
        => Options.TryGet(number, out var o) && o.TryGetUInt(out uint v) && BlockOption.TryDecode(v, out var b) ? b : null;

    /// <summary>
    /// The first option that must make the message be rejected (RFC 7252 §5.4.1, §5.4.3, §5.4.5):
    /// an unrecognised critical option (OSCORE counts as one: it is not processed), a recognised critical one with a length out of bounds, or a
    /// supernumerary instance of a critical non-repeatable option. Elective problems are ignored.
    /// </summary>
    public bool TryFindRejectableOption(out CoapOption option)
    {
        ReadOnlySpan<CoapOption> options = Options.AsSpan();
        for (int i = 0; i < options.Length; i++)
        {
            CoapOption o = options[i];
            if (!CoapOptionNumber.IsCritical(o.Number))
            {
                continue;
            }

            bool bad;

            // OSCORE (RFC 8613) is registered only so that its name prints: this library does not
            // process it, so for §5.4.1 it is unrecognised and a request carrying it gets 4.02.
            if (o.Number == CoapOptionNumber.Oscore || !CoapOptionRegistry.TryGet(o.Number, out var def))
            {
                bad = true;
            }
            else
            {
                bad = o.Value.Length < def.MinLength || o.Value.Length > def.MaxLength
                    || (!def.Repeatable && i > 0 && options[i - 1].Number == o.Number);
            }

            if (bad)
            {
                option = o;
                return true;
            }
        }

        option = default;
        return false;
    }

    /// <summary>A compact one-line rendering for logs and the CLI.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(Type switch
        {
            CoapMessageType.Confirmable => "CON",
            CoapMessageType.NonConfirmable => "NON",
            CoapMessageType.Acknowledgement => "ACK",
            _ => "RST",
        });
        sb.Append(' ').Append(Code).Append(" MID=").Append(MessageId);
        if (!Token.IsEmpty)
        {
            sb.Append(" Token=").Append(Convert.ToHexString(Token.Span));
        }

        foreach (var o in Options)
        {
            sb.Append(", ").Append(o);
        }

        if (!Payload.IsEmpty)
        {
            sb.Append(", ").Append(Payload.Length).Append(" bytes");
        }

        return sb.ToString();
    }
}

namespace CoapEnroll.Coap;

/// <summary>
/// A CoAP code: a 3-bit class and a 5-bit detail, written <c>c.dd</c> (RFC 7252 §3, §12.1).
/// </summary>
public readonly struct CoapCode : IEquatable<CoapCode>
{
    public CoapCode(byte value) => Value = value;

    public CoapCode(int codeClass, int detail)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(codeClass);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(codeClass, 7);
        ArgumentOutOfRangeException.ThrowIfNegative(detail);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(detail, 31);
        Value = (byte)((codeClass << 5) | detail);
    }

    /// <summary>The raw code byte.</summary>
    public byte Value { get; }

    public int Class => Value >> 5;

    public int Detail => Value & 0x1F;

    public bool IsEmpty => Value == 0;

    /// <summary>0.01–0.31: a request method.</summary>
    public bool IsRequest => Class == 0 && Detail != 0;

    /// <summary>2.xx–5.xx: a response.</summary>
    public bool IsResponse => Class >= 2 && Class <= 5;

    public bool IsSuccess => Class == 2;

    public bool IsClientError => Class == 4;

    public bool IsServerError => Class == 5;

    /// <summary>Classes 1, 6 and 7 are reserved (RFC 7252 §4.2/§12.1): a message with one is a format error.</summary>
    public bool IsReserved => Class is 1 or 6 or 7;

    public static readonly CoapCode Empty = new(0);

    public static readonly CoapCode Get = new(0, 1);
    public static readonly CoapCode Post = new(0, 2);
    public static readonly CoapCode Put = new(0, 3);
    public static readonly CoapCode Delete = new(0, 4);
    public static readonly CoapCode Fetch = new(0, 5);
    public static readonly CoapCode Patch = new(0, 6);
    public static readonly CoapCode IPatch = new(0, 7);

    public static readonly CoapCode Created = new(2, 1);
    public static readonly CoapCode Deleted = new(2, 2);
    public static readonly CoapCode Valid = new(2, 3);
    public static readonly CoapCode Changed = new(2, 4);
    public static readonly CoapCode Content = new(2, 5);
    public static readonly CoapCode Continue = new(2, 31);

    public static readonly CoapCode BadRequest = new(4, 0);
    public static readonly CoapCode Unauthorized = new(4, 1);
    public static readonly CoapCode BadOption = new(4, 2);
    public static readonly CoapCode Forbidden = new(4, 3);
    public static readonly CoapCode NotFound = new(4, 4);
    public static readonly CoapCode MethodNotAllowed = new(4, 5);
    public static readonly CoapCode NotAcceptable = new(4, 6);
    public static readonly CoapCode RequestEntityIncomplete = new(4, 8);
    public static readonly CoapCode Conflict = new(4, 9);
    public static readonly CoapCode PreconditionFailed = new(4, 12);
    public static readonly CoapCode RequestEntityTooLarge = new(4, 13);
    public static readonly CoapCode UnsupportedContentFormat = new(4, 15);
    public static readonly CoapCode UnprocessableEntity = new(4, 22);
    public static readonly CoapCode TooManyRequests = new(4, 29);

    public static readonly CoapCode InternalServerError = new(5, 0);
    public static readonly CoapCode NotImplemented = new(5, 1);
    public static readonly CoapCode BadGateway = new(5, 2);
    public static readonly CoapCode ServiceUnavailable = new(5, 3);
    public static readonly CoapCode GatewayTimeout = new(5, 4);
    public static readonly CoapCode ProxyingNotSupported = new(5, 5);

    public bool Equals(CoapCode other) => Value == other.Value;

    public override bool Equals(object? obj) => obj is CoapCode other && Equals(other);

    public override int GetHashCode() => Value;

    public static bool operator ==(CoapCode left, CoapCode right) => left.Value == right.Value;

    public static bool operator !=(CoapCode left, CoapCode right) => left.Value != right.Value;

    /// <summary>Parses <c>2.05</c>, or a method name (<c>GET</c>, <c>post</c>).</summary>
    public static bool TryParse(string text, out CoapCode code)
    {
        switch (text.ToUpperInvariant())
        {
            case "GET": code = Get; return true;
            case "POST": code = Post; return true;
            case "PUT": code = Put; return true;
            case "DELETE": code = Delete; return true;
            case "FETCH": code = Fetch; return true;
            case "PATCH": code = Patch; return true;
            case "IPATCH": code = IPatch; return true;
        }

        code = default;
        int dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot != 1 || text.Length != 4 || !char.IsAsciiDigit(text[0]) || !char.IsAsciiDigit(text[2]) || !char.IsAsciiDigit(text[3]))
        {
            return false;
        }

        int c = text[0] - '0';
        int d = ((text[2] - '0') * 10) + (text[3] - '0');
        if (c > 7 || d > 31)
        {
            return false;
        }

        code = new CoapCode(c, d);
        return true;
    }

    /// <summary>The method name for a request code, otherwise <c>c.dd</c>.</summary>
    public override string ToString() => Value switch
    {
        1 => "GET",
        2 => "POST",
        3 => "PUT",
        4 => "DELETE",
        5 => "FETCH",
        6 => "PATCH",
        7 => "iPATCH",
        _ => $"{Class}.{Detail:D2}",
    };
}

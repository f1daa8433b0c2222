using CoapEnroll.Ca;
using Microsoft.Extensions.Configuration;

namespace CoapEnroll.Ca.Pkcs11;

/// <summary>
/// Where the issuing CA's key is on a PKCS#11 token: the configuration section <c>Ca:Pkcs11</c>, used with
/// <c>Ca:KeyProvider=Pkcs11</c>. The user PIN is never configured itself: it is read from the environment variable
/// <see cref="PinEnvironmentVariable"/> names, or from <see cref="PinFile"/>.
/// </summary>
public sealed class Pkcs11KeyOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Ca:Pkcs11";

    /// <summary>Longest PIN accepted (a PIN file longer than this is not a PIN).</summary>
    public const int MaxPinLength = 256;

    /// <summary>Path of the PKCS#11 module (e.g. <c>/usr/lib/softhsm/libsofthsm2.so</c>).</summary>
    public string? Module { get; set; }

    /// <summary>The token's label; or <see cref="Slot"/>.</summary>
    public string? TokenLabel { get; set; }

    /// <summary>The slot id (as C_GetSlotList reports it); or <see cref="TokenLabel"/>.</summary>
    public ulong? Slot { get; set; }

    /// <summary>CKA_LABEL of the issuing key; or <see cref="KeyId"/>, or both (then the key has both).</summary>
    public string? KeyLabel { get; set; }

    /// <summary>CKA_ID of the issuing key, hexadecimal; or <see cref="KeyLabel"/>, or both.</summary>
    public string? KeyId { get; set; }

    /// <summary>The environment variable that holds the user PIN.</summary>
    public string? PinEnvironmentVariable { get; set; }

    /// <summary>A file that holds the user PIN (a trailing line break is ignored); readable by the server's user only.</summary>
    public string? PinFile { get; set; }

    /// <summary>The key <c>coapenroll ca init</c> generates when the token has none with <see cref="KeyLabel"/>/<see cref="KeyId"/>.</summary>
    public Pkcs11KeyType KeyType { get; set; } = Pkcs11KeyType.EcP256;

    /// <summary>How an RSA key signs certificates and CRLs.</summary>
    public Pkcs11RsaPadding RsaPadding { get; set; } = Pkcs11RsaPadding.Pkcs1;

    /// <summary>Sessions opened at most for concurrent signatures (1..64); a token that allows fewer refuses more with CKR_SESSION_COUNT.</summary>
    public int MaxSessions { get; set; } = 4;

    /// <summary>Binds <see cref="SectionName"/> of <paramref name="configuration"/> and checks it.</summary>
    /// <exception cref="CaConfigurationException">A value cannot be read, a required one is missing, or two exclude each other.</exception>
    public static Pkcs11KeyOptions Bind(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        Pkcs11KeyOptions options;
        try
        {
            options = configuration.GetSection(SectionName).Get<Pkcs11KeyOptions>(o => o.ErrorOnUnknownConfiguration = true) ?? new Pkcs11KeyOptions();
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key but not what it would have taken.
            throw new CaConfigurationException($"{SectionName}: {ex.Message}{string.Concat(NotNamed(configuration).Select(c => $" ({c})"))}", ex);
        }

        // The binder also takes a number or a comma list for an enum ("7", "EcP384,Rsa2048"): only one of the names is a value here.
        if (NotNamed(configuration).FirstOrDefault() is { } notNamed)
        {
            throw Setting(notNamed);
        }

        options.Validate();
        return options;
    }

    private static IEnumerable<string> NotNamed(IConfiguration configuration) => typeof(Pkcs11KeyOptions).GetProperties()
        .Where(p => p.PropertyType.IsEnum && configuration[$"{SectionName}:{p.Name}"] is { } value
            && !Enum.GetNames(p.PropertyType).Contains(value.Trim(), StringComparer.OrdinalIgnoreCase))
        .Select(p => $"{SectionName}:{p.Name} is one of {string.Join(", ", Enum.GetNames(p.PropertyType))}");

    /// <summary>Checks that the settings name one module, one token, one key and one PIN source.</summary>
    /// <exception cref="CaConfigurationException">They do not.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Module))
        {
            throw Setting($"{SectionName}:{nameof(Module)} is required with Ca:KeyProvider=Pkcs11 (the path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so)");
        }

        if (string.IsNullOrEmpty(TokenLabel) == (Slot is null))
        {
            throw Setting($"set exactly one of {SectionName}:{nameof(TokenLabel)} and {SectionName}:{nameof(Slot)}");
        }

        if (string.IsNullOrEmpty(KeyLabel) && string.IsNullOrEmpty(KeyId))
        {
            throw Setting($"set {SectionName}:{nameof(KeyLabel)} or {SectionName}:{nameof(KeyId)} (or both): which key on the token is the issuing key");
        }

        if (KeyId is { Length: > 0 } id && (id.Length % 2 != 0 || !id.All(char.IsAsciiHexDigit)))
        {
            throw Setting($"{SectionName}:{nameof(KeyId)} '{id}' is not an even number of hexadecimal digits");
        }

        if (string.IsNullOrEmpty(PinEnvironmentVariable) == string.IsNullOrEmpty(PinFile))
        {
            throw Setting($"set exactly one of {SectionName}:{nameof(PinEnvironmentVariable)} and {SectionName}:{nameof(PinFile)} (the PIN itself is never configured)");
        }

        // The binder takes a number or a comma list for an enum too ("7", "EcP384,Rsa2048"): only a named value is one.
        if (!Enum.IsDefined(KeyType))
        {
            throw Setting($"{SectionName}:{nameof(KeyType)} is one of {string.Join(", ", Enum.GetNames<Pkcs11KeyType>())}");
        }

        if (!Enum.IsDefined(RsaPadding))
        {
            throw Setting($"{SectionName}:{nameof(RsaPadding)} is one of {string.Join(", ", Enum.GetNames<Pkcs11RsaPadding>())}");
        }

        if (MaxSessions is < 1 or > 64)
        {
            throw Setting($"{SectionName}:{nameof(MaxSessions)} {MaxSessions} is outside 1..64");
        }
    }

    /// <summary>The user PIN from the environment variable or file.</summary>
    /// <exception cref="CaConfigurationException">The variable is unset or empty, or the file cannot be read or is empty.</exception>
    public string ReadPin()
    {
        string? pin;
        if (PinEnvironmentVariable is { Length: > 0 } name)
        {
            if (name.Length > 256 || name.Contains('=', StringComparison.Ordinal))
            {
                throw Setting($"{SectionName}:{nameof(PinEnvironmentVariable)} is not a valid environment variable name");
            }

            pin = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(pin))
            {
                throw new CaConfigurationException(null, CaConfigurationProblem.WrongPin, $"{SectionName}:{nameof(PinEnvironmentVariable)} names {name}, which is not set or empty");
            }
        }
        else
        {
            string path = PinFile!;
            try
            {
                var info = new FileInfo(path);
                if (info.Exists && info.Length > MaxPinLength + 2)
                {
                    throw new CaConfigurationException(path, CaConfigurationProblem.FileUnreadable, $"longer than a PIN ({MaxPinLength} characters)");
                }

                pin = File.ReadAllText(path).TrimEnd('\r', '\n');
            }
            catch (FileNotFoundException ex)
            {
                throw new CaConfigurationException(path, CaConfigurationProblem.FileMissing, $"the PIN file ({SectionName}:{nameof(PinFile)}) does not exist", ex);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CaConfigurationException(path, CaConfigurationProblem.FileUnreadable, $"the PIN file cannot be read ({ex.Message})", ex);
            }

            if (pin.Length == 0)
            {
                throw new CaConfigurationException(path, CaConfigurationProblem.WrongPin, "the PIN file is empty");
            }
        }

        return pin.Length <= MaxPinLength
            ? pin
            : throw new CaConfigurationException(null, CaConfigurationProblem.WrongPin, $"the PIN is longer than {MaxPinLength} characters");
    }

    /// <summary>The token, for messages: its label or slot.</summary>
    internal string TokenDescription => TokenLabel is { Length: > 0 } label ? $"token '{label}'" : $"slot {Slot}";

    /// <summary>The key, for messages: its label or id.</summary>
    internal string KeyDescription => (KeyLabel, KeyId) switch
    {
        ({ Length: > 0 } label, { Length: > 0 } id) => $"key '{label}' (id {id})",
        ({ Length: > 0 } label, _) => $"key '{label}'",
        _ => $"key id {KeyId}",
    };

    private static CaConfigurationException Setting(string message) => new(null, CaConfigurationProblem.InvalidSetting, message);
}

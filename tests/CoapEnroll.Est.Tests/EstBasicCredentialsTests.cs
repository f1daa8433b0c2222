using System.Security.Cryptography;
using System.Text;
using CoapEnroll.Enrollment;

namespace CoapEnroll.Est.Tests;

/// <summary>HTTP Basic credentials of EST over HTTPS (RFC 7617): the configured users, checked at startup, and the header check.</summary>
public sealed class EstBasicCredentialsTests
{
    private static string Header(string userAndPassword) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(userAndPassword));

    [Fact]
    public void Clear_and_hashed_passwords_verify_and_give_the_users_grant()
    {
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        byte[] hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes("s3cr\u00e9t"), salt, 10_000, HashAlgorithmName.SHA256, 32);
        var credentials = new EstBasicCredentials(new Dictionary<string, EstBasicUserOptions>
        {
            ["plain"] = new() { Password = "pw:with:colons" },
            ["hashed"] = new() { PasswordHash = $"pbkdf2-sha256$10000${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}", Profile = "p", AnyName = true },
        });

        Assert.Equal(EstBasicCredentials.Check.Valid, credentials.Verify(Header("plain:pw:with:colons"), out string? user, out SharedSecretGrant? grant));
        Assert.Equal("plain", user);
        Assert.Null(grant!.Profile);
        Assert.Equal(EstBasicCredentials.Check.Valid, credentials.Verify(Header("hashed:s3cr\u00e9t"), out user, out grant));
        Assert.Equal("hashed", user);
        Assert.Equal("p", grant!.Profile);
        Assert.True(grant.AnyName);

        Assert.Equal(EstBasicCredentials.Check.Wrong, credentials.Verify(Header("plain:pw"), out user, out _));
        Assert.Null(user);
        Assert.Equal(EstBasicCredentials.Check.Wrong, credentials.Verify(Header("hashed:s3cret"), out _, out _));
        Assert.Equal(EstBasicCredentials.Check.Wrong, credentials.Verify(Header("nobody:pw:with:colons"), out _, out _));
        Assert.Equal(EstBasicCredentials.Check.NotBasic, credentials.Verify(null, out _, out _));
        Assert.Equal(EstBasicCredentials.Check.NotBasic, credentials.Verify("Bearer abc", out _, out _));
        Assert.Equal(EstBasicCredentials.Check.Malformed, credentials.Verify("Basic %%%", out _, out _));
        Assert.Equal(EstBasicCredentials.Check.Malformed, credentials.Verify(Header("no-colon"), out _, out _));
        Assert.Equal(EstBasicCredentials.Check.Malformed, credentials.Verify("Basic " + Convert.ToBase64String([0xff, 0x3a, 0x41]), out _, out _));
    }

    [Theory]
    [InlineData("both", "x", "pbkdf2-sha256$10000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "exactly one of Password and PasswordHash")]
    [InlineData("neither", null, null, "exactly one of Password and PasswordHash")]
    [InlineData("few", null, "pbkdf2-sha256$1000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "PasswordHash")]
    [InlineData("scheme", null, "sha1$10000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "PasswordHash")]
    [InlineData("short", null, "pbkdf2-sha256$10000$AAAAAAAAAAA=$AAAA", "PasswordHash")]
    [InlineData("a:b", "x", null, "neither ':'")]
    public void Unusable_entries_are_refused_naming_the_key(string name, string? password, string? hash, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => new EstBasicCredentials(new Dictionary<string, EstBasicUserOptions>
        {
            [name] = new() { Password = password, PasswordHash = hash },
        }));
        Assert.Contains($"Est:BasicUsers:{name}", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}

namespace CoapEnroll.Pkix;

/// <summary>A certificate or key file cannot be used. The message is one line: the file, a colon, and the problem.</summary>
public sealed class CredentialFileException : Exception
{
    public CredentialFileException()
        : this(string.Empty, CredentialFileProblem.InvalidPem, "unusable credential file")
    {
    }

    public CredentialFileException(string message)
        : this(string.Empty, CredentialFileProblem.InvalidPem, message)
    {
    }

    public CredentialFileException(string message, Exception innerException)
        : this(string.Empty, CredentialFileProblem.InvalidPem, message, innerException)
    {
    }

    public CredentialFileException(string filePath, CredentialFileProblem problem, string detail, Exception? innerException = null)
        : base(filePath.Length == 0 ? detail : $"{filePath}: {detail}", innerException)
    {
        ArgumentNullException.ThrowIfNull(filePath);
        FilePath = filePath;
        Problem = problem;
        Detail = detail;
    }

    /// <summary>The file concerned.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong.</summary>
    public CredentialFileProblem Problem { get; }

    /// <summary>The message without the file name.</summary>
    public string Detail { get; }
}

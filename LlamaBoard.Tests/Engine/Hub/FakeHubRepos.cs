using System.Security.Cryptography;
using System.Text;
using LlamaBoard.Engine.Hub;

namespace LlamaBoard.Tests.Engine.Hub;

/// <summary>A file in a fake repository, with the identifiers the real hub computes for it.</summary>
sealed class FakeFile
{
    public FakeFile(string path, byte[] content, bool lfs)
    {
        Path = path;
        Content = content;
        Lfs = lfs;
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(content));
        // An LFS file is a pointer in git: the tree's "oid" is the pointer's blob id; the content's sha256 is the LFS oid.
        byte[] stored = lfs ? Encoding.ASCII.GetBytes($"version https://git-lfs.github.com/spec/v1\noid sha256:{Sha256}\nsize {content.Length}\n") : content;
        GitOid = GitBlobId(stored);
    }

    public string Path { get; }
    public byte[] Content { get; }
    public bool Lfs { get; }
    public string Sha256 { get; }
    public string GitOid { get; }

    /// <summary>The etag the hub gives: sha256 for LFS files, the git blob id otherwise.</summary>
    public string Etag => Lfs ? Sha256 : GitOid;

    /// <summary>git's blob id: sha1("blob {size}\0" + content), computed independently of the code under test.</summary>
    public static string GitBlobId(byte[] content)
    {
        byte[] header = Encoding.ASCII.GetBytes($"blob {content.Length}\0");
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. content]));
    }
}

/// <summary>A repository on the fake hub: commits of files, branches, and access rules.</summary>
sealed class FakeRepo(string id, HubRepoType type)
{
    public string Id { get; } = id;
    public HubRepoType Type { get; } = type;
    public Dictionary<string, Dictionary<string, FakeFile>> Commits { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Branches { get; } = new(StringComparer.Ordinal);
    public bool Private { get; set; }
    public bool Gated { get; set; }

    /// <summary>Adds a commit on <paramref name="branch"/> holding exactly <paramref name="files"/>; returns its hash.</summary>
    public string Commit(string branch, params FakeFile[] files)
    {
        string seed = Id + branch + Commits.Count + string.Join(",", files.Select(f => f.Path + f.Sha256));
        string commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(seed)));
        Commits[commit] = files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        Branches[branch] = commit;
        return commit;
    }

    public string? ResolveRevision(string revision) =>
        Branches.TryGetValue(revision, out var c) ? c : Commits.ContainsKey(revision) ? revision : null;
}

/// <summary>Deterministic file contents for tests.</summary>
static class FakeContent
{
    public static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static FakeFile Text(string path, string text) => new(path, Encoding.UTF8.GetBytes(text), lfs: false);

    public static FakeFile Lfs(string path, int length, int seed) => new(path, Bytes(length, seed), lfs: true);
}

# A tiny stand-in for the NixOS module system's merging: attribute sets merge recursively and
# lists concatenate, so several modules can declare parts of the same option. `update` is
# nixpkgs' recursiveUpdate: attribute sets merge recursively, anything else is replaced.
let
  merge = a: b:
    a // builtins.mapAttrs
      (n: v:
        if builtins.isAttrs v && builtins.isAttrs (a.${n} or null) then merge a.${n} v
        else if builtins.isList v && builtins.isList (a.${n} or null) then a.${n} ++ v
        else v)
      b;
  update = a: b:
    a // builtins.mapAttrs
      (n: v: if builtins.isAttrs v && builtins.isAttrs (a.${n} or null) then update a.${n} v else v)
      b;
in
{
  inherit merge update;
  all = builtins.foldl' merge { };
}

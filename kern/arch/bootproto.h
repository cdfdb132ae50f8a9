/* Which boot protocol started the kernel: the first argument of kmain. */
#ifndef EXO_KERN_BOOTPROTO_H
#define EXO_KERN_BOOTPROTO_H

#define BOOT_UNKNOWN 0
#define BOOT_PVH 1
#define BOOT_MULTIBOOT2 2

#endif
